/* geohash: Redis's geohash arithmetic for the geo commands (see geohash.c).
 *
 * A position is stored as a sorted-set score: the 52-bit interleaving of
 * 26 bits of latitude (in -85.05112878..85.05112878) and 26 bits of
 * longitude, exactly as Redis computes it, so scores, decoded coordinates
 * and distances agree with Redis to the last bit. */
#ifndef RM_GEOHASH_H
#define RM_GEOHASH_H

#include <stdint.h>

#define GEO_STEP_MAX 26
#define GEO_LAT_MIN -85.05112878
#define GEO_LAT_MAX 85.05112878
#define GEO_LONG_MIN -180
#define GEO_LONG_MAX 180

typedef struct geo_bits {
    uint64_t bits;
    uint8_t step;
} geo_bits;

typedef struct geo_range {
    double min, max;
} geo_range;

typedef struct geo_area {
    geo_bits hash;
    geo_range lon, lat;
} geo_area;

/* The search shape: a circle (radius) or an axis-aligned box, in the
 * caller's unit; `conversion` turns that unit into meters. */
enum { GEO_CIRCLE, GEO_BOX };
typedef struct geo_shape {
    int type;
    double xy[2]; /* centre: longitude, latitude */
    double conversion;
    double radius;
    double width, height;
} geo_shape;

/* The box holding the centre and its 8 neighbours (zero when useless). */
typedef struct geo_cells {
    geo_bits hash;
    geo_bits neighbors[8]; /* N S E W NE NW SE SW */
    geo_area area;
} geo_cells;

/* Encode with explicit ranges (GEOHASH re-encodes with -90..90); 0 when the
 * coordinates are outside Redis's limits or the ranges. */
int geo_encode(const geo_range *lon, const geo_range *lat, double longitude, double latitude,
               uint8_t step, geo_bits *out);
int geo_encode_wgs84(double longitude, double latitude, uint8_t step, geo_bits *out);
/* The score of a position: its 52-bit hash. */
uint64_t geo_align52(geo_bits hash);
/* The centre of the cell a 52-bit score names; 0 when it cannot decode. */
int geo_decode_score(double score, double xy[2]);

double geo_distance(double lon1, double lat1, double lon2, double lat2);
/* Whether (x2, y2) lies in the shape centred on (x1, y1), sizes in meters;
 * *dist is its distance from the centre. */
int geo_in_radius(double x1, double y1, double x2, double y2, double radius, double *dist);
int geo_in_box(double width, double height, double x1, double y1, double x2, double y2,
               double *dist);
/* The cells to scan for a shape, as Redis's
 * geohashCalculateAreasByShapeWGS84 picks them. */
geo_cells geo_cells_for_shape(const geo_shape *shape);

#endif
