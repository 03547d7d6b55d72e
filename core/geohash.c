/* geohash: the arithmetic under the geo commands, as Redis's geohash.c and
 * geohash_helper.c do it.
 *
 * Encoding: each coordinate becomes a 26-bit fraction of its range
 * (latitude -85.05112878..85.05112878, the Web Mercator limits; longitude
 * -180..180), truncated; the two are interleaved, latitude in the even
 * bits, longitude in the odd ones. A position's score is that 52-bit
 * number; decoding gives the centre of its cell, which is why GEOPOS never
 * returns exactly what GEOADD was given.
 *
 * Searching: the radius (or half the box's diagonal) picks a cell size
 * (step) from the Mercator width, one step coarser near the poles or when
 * the neighbouring cells do not reach the shape's bounding box; the
 * centre's cell and its 8 neighbours, minus those that cannot overlap the
 * box, are scanned as score ranges, and each point found is checked with
 * the haversine distance on a sphere of radius 6372797.560856 m.
 *
 * Every floating point operation is Redis's, in Redis's order: the replies
 * print these numbers, and a stored result (GEORADIUS ... STORE) keeps
 * them as scores. */
#include "core/geohash.h"

#include <math.h>

#define EARTH_RADIUS_IN_METERS 6372797.560856
#define MERCATOR_MAX 20037726.37
#define D_R (M_PI / 180.0)
#define R_D (180.0 / M_PI)

static double deg_rad(double ang) { return ang * D_R; }
static double rad_deg(double ang) { return ang * R_D; }

static uint64_t interleave64(uint32_t xlo, uint32_t ylo) {
    static const uint64_t B[] = {0x5555555555555555ULL, 0x3333333333333333ULL,
                                 0x0F0F0F0F0F0F0F0FULL, 0x00FF00FF00FF00FFULL,
                                 0x0000FFFF0000FFFFULL};
    static const unsigned S[] = {1, 2, 4, 8, 16};
    uint64_t x = xlo, y = ylo;
    for (int i = 4; i >= 0; i--) {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    return x | (y << 1);
}

static uint64_t deinterleave64(uint64_t interleaved) {
    static const uint64_t B[] = {0x5555555555555555ULL, 0x3333333333333333ULL,
                                 0x0F0F0F0F0F0F0F0FULL, 0x00FF00FF00FF00FFULL,
                                 0x0000FFFF0000FFFFULL, 0x00000000FFFFFFFFULL};
    static const unsigned S[] = {0, 1, 2, 4, 8, 16};
    uint64_t x = interleaved, y = interleaved >> 1;
    for (int i = 0; i <= 5; i++) {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    return x | (y << 32);
}

static const geo_range WGS84_LON = {GEO_LONG_MIN, GEO_LONG_MAX};
static const geo_range WGS84_LAT = {GEO_LAT_MIN, GEO_LAT_MAX};

int geo_encode(const geo_range *lon, const geo_range *lat, double longitude, double latitude,
               uint8_t step, geo_bits *out) {
    if (step > 32 || step == 0) return 0;
    if (longitude > 180 || longitude < -180 || latitude > GEO_LAT_MAX || latitude < GEO_LAT_MIN)
        return 0;
    out->bits = 0;
    out->step = step;
    if (latitude < lat->min || latitude > lat->max || longitude < lon->min ||
        longitude > lon->max)
        return 0;
    double lat_offset = (latitude - lat->min) / (lat->max - lat->min);
    double long_offset = (longitude - lon->min) / (lon->max - lon->min);
    lat_offset *= (double)(1ULL << step);
    long_offset *= (double)(1ULL << step);
    out->bits = interleave64((uint32_t)lat_offset, (uint32_t)long_offset);
    return 1;
}

int geo_encode_wgs84(double longitude, double latitude, uint8_t step, geo_bits *out) {
    return geo_encode(&WGS84_LON, &WGS84_LAT, longitude, latitude, step, out);
}

static void decode_area(geo_bits hash, geo_area *area) {
    uint64_t sep = deinterleave64(hash.bits);
    double lat_scale = WGS84_LAT.max - WGS84_LAT.min;
    double long_scale = WGS84_LON.max - WGS84_LON.min;
    uint32_t ilato = (uint32_t)sep, ilono = (uint32_t)(sep >> 32);
    double cells = (double)(1ULL << hash.step);
    area->hash = hash;
    area->lat.min = WGS84_LAT.min + (ilato * 1.0 / cells) * lat_scale;
    area->lat.max = WGS84_LAT.min + ((ilato + 1) * 1.0 / cells) * lat_scale;
    area->lon.min = WGS84_LON.min + (ilono * 1.0 / cells) * long_scale;
    area->lon.max = WGS84_LON.min + ((ilono + 1) * 1.0 / cells) * long_scale;
}

uint64_t geo_align52(geo_bits hash) { return hash.bits << (52 - hash.step * 2); }

int geo_decode_score(double score, double xy[2]) {
    geo_bits hash = {(uint64_t)score, GEO_STEP_MAX};
    geo_area area;
    decode_area(hash, &area);
    xy[0] = (area.lon.min + area.lon.max) / 2;
    if (xy[0] > GEO_LONG_MAX) xy[0] = GEO_LONG_MAX;
    if (xy[0] < GEO_LONG_MIN) xy[0] = GEO_LONG_MIN;
    xy[1] = (area.lat.min + area.lat.max) / 2;
    if (xy[1] > GEO_LAT_MAX) xy[1] = GEO_LAT_MAX;
    if (xy[1] < GEO_LAT_MIN) xy[1] = GEO_LAT_MIN;
    return 1;
}

/* ---- distances ------------------------------------------------------------ */

/* Along a meridian the haversine reduces to the latitude difference. */
static double lat_distance(double lat1d, double lat2d) {
    return EARTH_RADIUS_IN_METERS * fabs(deg_rad(lat2d) - deg_rad(lat1d));
}

double geo_distance(double lon1d, double lat1d, double lon2d, double lat2d) {
    double lon1r = deg_rad(lon1d), lon2r = deg_rad(lon2d);
    double v = sin((lon2r - lon1r) / 2);
    if (v == 0.0) return lat_distance(lat1d, lat2d);
    double lat1r = deg_rad(lat1d), lat2r = deg_rad(lat2d);
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * EARTH_RADIUS_IN_METERS * asin(sqrt(a));
}

int geo_in_radius(double x1, double y1, double x2, double y2, double radius, double *dist) {
    *dist = geo_distance(x1, y1, x2, y2);
    return *dist <= radius;
}

int geo_in_box(double width, double height, double x1, double y1, double x2, double y2,
               double *dist) {
    if (lat_distance(y2, y1) > height / 2) return 0;
    if (geo_distance(x2, y2, x1, y2) > width / 2) return 0;
    *dist = geo_distance(x1, y1, x2, y2);
    return 1;
}

/* ---- the cells of a search ------------------------------------------------ */

static uint8_t steps_for_radius(double range_meters, double lat) {
    if (range_meters == 0) return 26;
    int step = 1;
    while (range_meters < MERCATOR_MAX) {
        range_meters *= 2;
        step++;
    }
    step -= 2; /* the range fits in most cases */
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80) step--;
    }
    if (step < 1) step = 1;
    if (step > 26) step = 26;
    return (uint8_t)step;
}

/* Longitude min, latitude min, longitude max, latitude max. */
static void bounding_box(const geo_shape *shape, double *bounds) {
    double longitude = shape->xy[0], latitude = shape->xy[1];
    double height = shape->conversion * (shape->type == GEO_CIRCLE ? shape->radius
                                                                   : shape->height / 2);
    double width = shape->conversion * (shape->type == GEO_CIRCLE ? shape->radius
                                                                  : shape->width / 2);
    const double lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    const double long_delta_top =
        rad_deg(width / EARTH_RADIUS_IN_METERS / cos(deg_rad(latitude + lat_delta)));
    const double long_delta_bottom =
        rad_deg(width / EARTH_RADIUS_IN_METERS / cos(deg_rad(latitude - lat_delta)));
    /* The box is widest on the side nearer the equator. */
    int southern = latitude < 0;
    bounds[0] = southern ? longitude - long_delta_bottom : longitude - long_delta_top;
    bounds[2] = southern ? longitude + long_delta_bottom : longitude + long_delta_top;
    bounds[1] = latitude - lat_delta;
    bounds[3] = latitude + lat_delta;
}

/* One cell along an axis: `axis` masks that axis's bits (the odd ones for
 * longitude, the even ones for latitude); the carry crosses the other
 * axis's bits by filling them with ones first, and wraps around the globe. */
static void move_axis(geo_bits *hash, int d, uint64_t axis) {
    if (d == 0) return;
    uint64_t moving = hash->bits & axis;
    uint64_t other = hash->bits & ~axis;
    uint64_t zz = ~axis >> (64 - hash->step * 2);
    if (d > 0) {
        moving = moving + (zz + 1);
    } else {
        moving = moving | zz;
        moving = moving - (zz + 1);
    }
    moving &= axis >> (64 - hash->step * 2);
    hash->bits = moving | other;
}

enum { N, S, E, W, NE, NW, SE, SW };

static void neighbors_of(geo_bits hash, geo_bits nb[8]) {
    static const int dx[8] = {0, 0, 1, -1, 1, -1, 1, -1};
    static const int dy[8] = {1, -1, 0, 0, 1, 1, -1, -1};
    for (int i = 0; i < 8; i++) {
        nb[i] = hash;
        move_axis(&nb[i], dx[i], 0xaaaaaaaaaaaaaaaaULL);
        move_axis(&nb[i], dy[i], 0x5555555555555555ULL);
    }
}

static void cells_at(double longitude, double latitude, int steps, geo_cells *cells) {
    geo_encode_wgs84(longitude, latitude, (uint8_t)steps, &cells->hash);
    neighbors_of(cells->hash, cells->neighbors);
    decode_area(cells->hash, &cells->area);
}

static void drop(geo_cells *c, int a, int b, int d) {
    c->neighbors[a] = c->neighbors[b] = c->neighbors[d] = (geo_bits){0, 0};
}

geo_cells geo_cells_for_shape(const geo_shape *shape) {
    double bounds[4];
    bounding_box(shape, bounds);
    double min_lon = bounds[0], min_lat = bounds[1], max_lon = bounds[2], max_lat = bounds[3];
    double longitude = shape->xy[0], latitude = shape->xy[1];
    double radius_meters =
        shape->type == GEO_CIRCLE
            ? shape->radius
            : sqrt((shape->width / 2) * (shape->width / 2) +
                   (shape->height / 2) * (shape->height / 2));
    radius_meters *= shape->conversion;
    int steps = steps_for_radius(radius_meters, latitude);
    geo_cells cells;
    cells_at(longitude, latitude, steps, &cells);

    /* Near a cell's edge the neighbours may not reach the whole box: one
     * step coarser then. */
    geo_area north, south, east, west;
    decode_area(cells.neighbors[N], &north);
    decode_area(cells.neighbors[S], &south);
    decode_area(cells.neighbors[E], &east);
    decode_area(cells.neighbors[W], &west);
    int decrease = north.lat.max < max_lat || south.lat.min > min_lat ||
                   east.lon.max < max_lon || west.lon.min > min_lon;
    if (steps > 1 && decrease) cells_at(longitude, latitude, --steps, &cells);

    /* Leave out the neighbours the box cannot overlap. */
    if (steps >= 2) {
        if (cells.area.lat.min < min_lat) drop(&cells, S, SW, SE);
        if (cells.area.lat.max > max_lat) drop(&cells, N, NE, NW);
        if (cells.area.lon.min < min_lon) drop(&cells, W, SW, NW);
        if (cells.area.lon.max > max_lon) drop(&cells, E, SE, NE);
    }
    return cells;
}
