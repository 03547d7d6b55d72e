/* Unit tests of the geohash arithmetic (core/geohash.c): scores, decoded
 * centres and distances against values read from a real redis-server
 * 7.0.15 (GEOADD + ZSCORE, GEOPOS, GEODIST), the round trip of every cell
 * corner, and the cells a search scans. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/geohash.h"

static uint64_t score_of(double lon, double lat) {
    geo_bits h;
    ck_assert(geo_encode_wgs84(lon, lat, GEO_STEP_MAX, &h));
    return geo_align52(h);
}

START_TEST(test_scores_match_redis) {
    ck_assert_uint_eq(score_of(13.361389, 38.115556), 3479099956230698ULL);
    ck_assert_uint_eq(score_of(15.087269, 37.502669), 3479447370796909ULL);
    geo_bits h;
    ck_assert(!geo_encode_wgs84(180.0001, 0, GEO_STEP_MAX, &h));
    ck_assert(!geo_encode_wgs84(0, 85.06, GEO_STEP_MAX, &h));
    ck_assert(geo_encode_wgs84(-180, -85.05112878, GEO_STEP_MAX, &h));
    ck_assert_uint_eq(geo_align52(h), 0);
}
END_TEST

START_TEST(test_decode_matches_redis) {
    double xy[2];
    ck_assert(geo_decode_score(3479099956230698.0, xy));
    /* GEOPOS prints these as 13.36138933897018433 38.11555639549629859. */
    char buf[64];
    snprintf(buf, sizeof(buf), "%.17Lf %.17Lf", (long double)xy[0], (long double)xy[1]);
    ck_assert_str_eq(buf, "13.36138933897018433 38.11555639549629859");
}
END_TEST

START_TEST(test_distances_match_redis) {
    double a[2], b[2];
    geo_decode_score((double)score_of(13.361389, 38.115556), a);
    geo_decode_score((double)score_of(15.087269, 37.502669), b);
    char buf[64];
    snprintf(buf, sizeof(buf), "%.4f", geo_distance(a[0], a[1], b[0], b[1]));
    ck_assert_str_eq(buf, "166274.1516");
    geo_decode_score((double)score_of(0, 0), a);
    geo_decode_score((double)score_of(0, 1), b);
    snprintf(buf, sizeof(buf), "%.4f", geo_distance(a[0], a[1], b[0], b[1]));
    ck_assert_str_eq(buf, "111226.0989");
    /* Same longitude: the meridian shortcut, symmetric. */
    ck_assert(geo_distance(5, 10, 5, 20) == geo_distance(5, 20, 5, 10));
    double d;
    ck_assert(geo_in_radius(0, 0, 0, 0, 0, &d) && d == 0);
}
END_TEST

/* Any score decodes to a point that encodes back to the same score. */
START_TEST(test_round_trip) {
    srand(7);
    for (int i = 0; i < 100000; i++) {
        uint64_t s = (((uint64_t)rand() << 31) ^ (uint64_t)rand()) & ((1ULL << 52) - 1);
        double xy[2];
        ck_assert(geo_decode_score((double)s, xy));
        ck_assert_msg(score_of(xy[0], xy[1]) == s, "score %llu", (unsigned long long)s);
    }
}
END_TEST

START_TEST(test_search_cells) {
    /* A 200 km circle around (15, 37) scans the centre's cell and the
     * neighbours that reach the circle's bounding box. */
    geo_shape shape = {GEO_CIRCLE, {15, 37}, 1000, 200, 0, 0};
    geo_cells cells = geo_cells_for_shape(&shape);
    ck_assert_uint_eq(cells.hash.step, 6);
    ck_assert(cells.area.lon.min <= 15 && cells.area.lon.max >= 15);
    ck_assert(cells.area.lat.min <= 37 && cells.area.lat.max >= 37);
    /* A radius of 0 uses the finest cells. */
    geo_shape point = {GEO_CIRCLE, {15, 37}, 1, 0, 0, 0};
    ck_assert_uint_eq(geo_cells_for_shape(&point).hash.step, 26);
    /* Half the planet: the coarsest. */
    geo_shape huge = {GEO_BOX, {0, 0}, 1000, 0, 40000, 40000};
    ck_assert_uint_eq(geo_cells_for_shape(&huge).hash.step, 1);
}
END_TEST

static Suite *geohash_suite(void) {
    Suite *s = suite_create("geohash");
    TCase *tc = tcase_create("geohash");
    tcase_add_test(tc, test_scores_match_redis);
    tcase_add_test(tc, test_decode_matches_redis);
    tcase_add_test(tc, test_distances_match_redis);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_search_cells);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(geohash_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
