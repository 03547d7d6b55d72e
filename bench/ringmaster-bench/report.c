/* report: see report.h. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void rmb_samples_init(rmb_samples *s, int nrep, const char *const *names) {
    memset(s, 0, sizeof(*s));
    s->nrep = nrep;
    s->names = calloc((size_t)nrep, sizeof(char *));
    for (int i = 0; i < nrep; i++) s->names[i] = strdup(names[i]);
}

void rmb_samples_free(rmb_samples *s) {
    for (int i = 0; i < s->nrep; i++) free(s->names[i]);
    free(s->names);
    free(s->t);
    free(s->bytes);
    free(s->ms);
    memset(s, 0, sizeof(*s));
}

void rmb_samples_add(rmb_samples *s, double t, const int64_t *bytes, const double *ms) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->t = realloc(s->t, s->cap * sizeof(double));
        s->bytes = realloc(s->bytes, s->cap * (size_t)s->nrep * sizeof(int64_t));
        s->ms = realloc(s->ms, s->cap * (size_t)s->nrep * sizeof(double));
        if (!s->t || !s->bytes || !s->ms) abort();
    }
    s->t[s->n] = t;
    memcpy(s->bytes + s->n * (size_t)s->nrep, bytes, (size_t)s->nrep * sizeof(int64_t));
    memcpy(s->ms + s->n * (size_t)s->nrep, ms, (size_t)s->nrep * sizeof(double));
    s->n++;
}

int rmb_csv_write(FILE *f, const rmb_samples *s) {
    fputs("time_s", f);
    for (int r = 0; r < s->nrep; r++) fprintf(f, ",%s_lag_bytes,%s_lag_ms", s->names[r], s->names[r]);
    fputc('\n', f);
    for (size_t i = 0; i < s->n; i++) {
        fprintf(f, "%.3f", s->t[i]);
        for (int r = 0; r < s->nrep; r++) {
            int64_t b = s->bytes[i * (size_t)s->nrep + (size_t)r];
            double ms = s->ms[i * (size_t)s->nrep + (size_t)r];
            if (b == RMB_UNKNOWN_BYTES) fputc(',', f);
            else fprintf(f, ",%lld", (long long)b);
            if (ms < 0) fputc(',', f);
            else fprintf(f, ",%.3f", ms);
        }
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

double rmb_nice_step(double range, int ticks) {
    double raw = range / ticks;
    double mag = pow(10, floor(log10(raw)));
    static const double mult[] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++)
        if (mult[i] * mag >= raw) return mult[i] * mag;
    return 10 * mag;
}

const char *rmb_fmt_bytes(char *buf, size_t len, double bytes) {
    static const char *unit[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (fabs(bytes) >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, len, "%.0f B", bytes);
    else snprintf(buf, len, "%.1f %s", bytes, unit[u]);
    return buf;
}

/* ---- SVG ---------------------------------------------------------------- */

#define SVG_W 960
#define PLOT_X 90  /* left edge of the plot area: room for the tick labels */
#define PLOT_W 680 /* the legend sits right of the plot */
#define PLOT_H 220
#define TOP1 60
#define TOP2 (TOP1 + PLOT_H + 80)
#define SVG_H (TOP2 + PLOT_H + 60)

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                     "#9467bd", "#8c564b", "#e377c2", "#17becf"};
#define NCOLORS (sizeof(colors) / sizeof(colors[0]))

static void xml_text(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Where a chart's values go, and how its axis labels read. */
typedef struct chart {
    int top;
    double xmax, ymax; /* axis ranges, from 0 */
    double yunit;      /* value per labelled unit (1024^k for bytes) */
    const char *ylabel;
    int is_bytes;
} chart;

static double px(const chart *c, double t) { return PLOT_X + t / c->xmax * PLOT_W; }
static double py(const chart *c, double v) { return c->top + PLOT_H - v / c->ymax * PLOT_H; }

static double value_at(const rmb_samples *s, const chart *c, size_t i, int r) {
    size_t k = i * (size_t)s->nrep + (size_t)r;
    if (c->is_bytes) return s->bytes[k] == RMB_UNKNOWN_BYTES ? -1 : (double)s->bytes[k];
    return s->ms[k];
}

static double value_max(const rmb_samples *s, const chart *c) {
    double m = 0;
    for (size_t i = 0; i < s->n; i++)
        for (int r = 0; r < s->nrep; r++) m = fmax(m, value_at(s, c, i, r));
    return m;
}

static void axes(FILE *f, const chart *c) {
    int bottom = c->top + PLOT_H;
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
            PLOT_X, c->top, PLOT_W, PLOT_H);
    double xs = rmb_nice_step(c->xmax, 10);
    for (double t = 0; t <= c->xmax + 1e-9; t += xs) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", px(c, t),
                c->top, px(c, t), bottom);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", px(c, t),
                bottom + 16, t);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time since start (s)</text>\n",
            PLOT_X + PLOT_W / 2, bottom + 36);
    double ys = rmb_nice_step(c->ymax / c->yunit, 5) * c->yunit;
    for (double v = 0; v <= c->ymax + 1e-9; v += ys) {
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", PLOT_X,
                py(c, v), PLOT_X + PLOT_W, py(c, v));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", PLOT_X - 6,
                py(c, v) + 4, v / c->yunit);
    }
    fprintf(f, "<text transform=\"translate(%d,%d) rotate(-90)\" text-anchor=\"middle\">",
            PLOT_X - 60, c->top + PLOT_H / 2);
    xml_text(f, c->ylabel);
    fputs("</text>\n", f);
}

/* One replica's line; an unknown value breaks it, so a gap shows as a gap. */
static void series(FILE *f, const rmb_samples *s, const chart *c, int r) {
    fprintf(f, "<path fill=\"none\" stroke-width=\"1.5\" stroke=\"%s\" d=\"", colors[r % NCOLORS]);
    int pen = 0;
    for (size_t i = 0; i < s->n; i++) {
        double v = value_at(s, c, i, r);
        if (v < 0) {
            pen = 0;
            continue;
        }
        fprintf(f, "%c%.1f,%.1f ", pen ? 'L' : 'M', px(c, s->t[i]), py(c, v));
        pen = 1;
    }
    fputs("\"/>\n", f);
}

static void draw_chart(FILE *f, const rmb_samples *s, chart *c) {
    c->xmax = s->n ? fmax(s->t[s->n - 1], 0.1) : 1.0;
    double vmax = value_max(s, c);
    static const char *const byte_labels[] = {"replication lag (B)", "replication lag (KB)",
                                              "replication lag (MB)", "replication lag (GB)"};
    c->yunit = 1;
    if (c->is_bytes) {
        int u = 0;
        for (; vmax / c->yunit >= 1024 && u < 3; u++) c->yunit *= 1024;
        c->ylabel = byte_labels[u];
    }
    double step = rmb_nice_step(vmax > 0 ? vmax / c->yunit : 1.0, 5);
    c->ymax = ceil((vmax > 0 ? vmax / c->yunit : 1.0) / step) * step * c->yunit;
    axes(f, c);
    for (int r = 0; r < s->nrep; r++) series(f, s, c, r);
}

static void legend(FILE *f, const rmb_samples *s) {
    int x = PLOT_X + PLOT_W + 20;
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">replica</text>\n", x, TOP1 + 10);
    for (int r = 0; r < s->nrep; r++) {
        int y = TOP1 + 30 + r * 20;
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>\n",
                x, y - 4, x + 24, y - 4, colors[r % NCOLORS]);
        fprintf(f, "<text x=\"%d\" y=\"%d\">", x + 30, y);
        xml_text(f, s->names[r]);
        fputs("</text>\n", f);
    }
}

int rmb_svg_write(FILE *f, const rmb_samples *s, const char *title) {
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
            SVG_W, SVG_H, SVG_W, SVG_H);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", SVG_W, SVG_H);
    fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"15\" font-weight=\"bold\">", PLOT_X);
    xml_text(f, title);
    fputs("</text>\n", f);
    static const char *const sub[] = {
        "time lag: ms from the master's reply to a probe PUBLISH until the replica delivers it",
        "byte lag: master_repl_offset minus the replica's applied offset, every 100 ms"};
    for (int i = 0; i < 2; i++) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#555\">%s</text>\n", PLOT_X,
                (i ? TOP2 : TOP1) - 8, sub[i]);
    }
    chart ms = {.top = TOP1, .ylabel = "replication lag (ms)", .is_bytes = 0};
    draw_chart(f, s, &ms);
    chart bytes = {.top = TOP2, .is_bytes = 1}; /* its label follows the unit */
    draw_chart(f, s, &bytes);
    legend(f, s);
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}
