"""Differential test of the geo commands against real redis-server 7.0.

A seeded generator places members in a few clusters (one on the
antimeridian, one near the pole) and at random, then sends GEOADD (NX XX
CH, bad coordinates), GEODIST in every unit, GEOHASH, GEOPOS, the
GEORADIUS family (every option, STORE and STOREDIST) and GEOSEARCH /
GEOSEARCHSTORE (FROMMEMBER/FROMLONLAT, BYRADIUS/BYBOX, ASC/DESC, COUNT with
and without ANY, WITH* options), with radii from 0 to half the planet so
that every cell size, the neighbour pruning and the repeated-cell skip are
exercised. Plain ZADD/ZREM, DEL, a string key (WRONGTYPE) and CONFIG SET
zset-max-listpack-entries (the encoding of stored results) mix in.

bits_differ compares each reply byte for byte (coordinates, distances and
hashes as Redis prints them), the dirty counter (GEOADD runs as ZADD; the
*STORE forms count one change per result), the keyspace notifications and
DEBUG DIGEST; ZRANGE ... WITHSCORES of every key at the end.
RM_DIFF_SEEDS=5,9 reruns only those seeds.
"""

import random

import pytest

import rmtest
from bits_differ import Differ, seeds

COMMANDS_PER_SEED = rmtest.scaled(3000)
DEFAULT_SEEDS = [8, 9101, 9102, 9103]  # 8: equal distances cut by COUNT
KEYS = [b"g0", b"g1", b"g2", b"dst", b"missing", b"str"]
CENTRES = [(13.361389, 38.115556), (179.95, 10.0), (-179.95, -10.0), (2.35, 84.9),
           (-70.0, -84.5), (0.0, 0.0), (-122.42, 37.77)]
UNITS = [b"m", b"km", b"ft", b"mi", b"KM", b"M"]


class Generator:
    def __init__(self, rng):
        self.r = rng

    def key(self):
        if self.r.random() < 0.75:
            return self.r.choice([b"g0", b"g1"])
        return self.r.choice(KEYS)

    def member(self):
        return b"m%d" % self.r.randint(0, 15)

    def num(self, v):
        return (b"%.6f" % v).rstrip(b"0").rstrip(b".") if self.r.random() < 0.8 else repr(v).encode()

    def position(self):
        if self.r.random() < 0.7:
            lon, lat = self.r.choice(CENTRES)
            spread = self.r.choice([0.01, 0.5, 3.0])
            lon = max(-180.0, min(180.0, lon + self.r.uniform(-spread, spread)))
            lat = max(-85.05, min(85.05, lat + self.r.uniform(-spread, spread)))
        else:
            lon, lat = self.r.uniform(-180, 180), self.r.uniform(-85.05, 85.05)
        return [self.num(lon), self.num(lat)]

    def bad_position(self):
        return self.r.choice([[b"200", b"10"], [b"10", b"86"], [b"x", b"1"], [b"1", b""],
                              [b"-180.0001", b"0"], [b"inf", b"0"], [b"180", b"85.05112878"]])

    def radius(self):
        r = self.r.random()
        if r < 0.05:
            return [self.r.choice([b"-1", b"x", b"0"]), self.r.choice(UNITS)]
        if r < 0.1:
            return [b"10", self.r.choice([b"km2", b"", b"feet"])]
        value = self.r.choice([0.5, 5, 50, 300, 1000, 5000, 20000])
        return [b"%g" % (value * self.r.uniform(0.5, 1.5)), b"km"] if self.r.random() < 0.6 \
            else [b"%g" % (value * 1000 * self.r.uniform(0.5, 1.5)), self.r.choice(UNITS[:4])]

    def with_opts(self):
        opts = []
        for o in (b"WITHDIST", b"WITHCOORD", b"WITHHASH"):
            if self.r.random() < 0.3:
                opts.append(o)
        return opts

    def order_opts(self, any_ok=True):
        opts = []
        r = self.r.random()
        if r < 0.3:
            opts.append(self.r.choice([b"ASC", b"DESC", b"asc"]))
        if self.r.random() < 0.4:
            opts += [b"COUNT", self.r.choice([b"1", b"2", b"5", b"100", b"0", b"-1", b"x"])]
            if any_ok and self.r.random() < 0.3:
                opts.append(b"ANY")
        elif self.r.random() < 0.03:
            opts.append(b"ANY")
        return opts

    def shuffle(self, opts):
        # Options may come in any order; keep each option's value after it.
        groups, i = [], 0
        while i < len(opts):
            if opts[i] in (b"COUNT", b"STORE", b"STOREDIST") and i + 1 < len(opts) and \
                    opts[i + 1] not in (b"ANY",):
                groups.append(opts[i:i + 2])
                i += 2
            else:
                groups.append(opts[i:i + 1])
                i += 1
        self.r.shuffle(groups)
        return [x for g in groups for x in g]

    def store_opts(self):
        if self.r.random() < 0.25:
            return [self.r.choice([b"STORE", b"STOREDIST"]), self.r.choice([b"dst", b"g2"])]
        return []

    def georadius(self):
        ro = self.r.random() < 0.3
        bymember = self.r.random() < 0.4
        name = (b"GEORADIUSBYMEMBER" if bymember else b"GEORADIUS") + (b"_RO" if ro else b"")
        centre = [self.member()] if bymember else self.position()
        opts = self.with_opts() + self.order_opts()
        if not ro:
            opts += self.store_opts()
        return [name, self.key()] + centre + self.radius() + self.shuffle(opts)

    def geosearch(self):
        store = self.r.random() < 0.35
        args = [b"GEOSEARCHSTORE", self.r.choice([b"dst", b"g1"])] if store else [b"GEOSEARCH"]
        args.append(self.key())
        opts = []
        r = self.r.random()
        if r < 0.45:
            opts.append([b"FROMMEMBER", self.member()])
        elif r < 0.95:
            opts.append([b"FROMLONLAT"] + (self.position() if self.r.random() < 0.95
                                           else self.bad_position()))
        r = self.r.random()
        if r < 0.5:
            opts.append([b"BYRADIUS"] + self.radius())
        elif r < 0.95:
            w, unit = self.radius()
            h = b"%g" % (float(w) * self.r.uniform(0.2, 3)) if w not in (b"x", b"-1") else w
            opts.append([b"BYBOX", w, h, unit])
        if self.r.random() < 0.03:
            opts.append([b"BYRADIUS", b"1", b"km"])
        rest = self.order_opts() + (self.with_opts() if not store or self.r.random() < 0.1
                                    else [])
        if store and self.r.random() < 0.4:
            rest.append(b"STOREDIST")
        opts += [[x] for x in self.shuffle(rest)]
        self.r.shuffle(opts)
        return args + [x for o in opts for x in o]

    def next(self):
        r = self.r.random()
        k = self.key()
        if r < 0.25:
            args = [b"GEOADD", k]
            for opt in (b"NX", b"XX", b"CH"):
                if self.r.random() < 0.1:
                    args.append(opt)
            for _ in range(self.r.randint(1, 4)):
                pos = self.position() if self.r.random() < 0.95 else self.bad_position()
                args += pos + [self.member()]
            return args
        if r < 0.32:
            args = [b"GEODIST", k, self.member(), self.member()]
            if self.r.random() < 0.6:
                args.append(self.r.choice(UNITS + [b"yd"]))
            return args
        if r < 0.37:
            return [b"GEOHASH", k] + [self.member() for _ in range(self.r.randint(0, 3))]
        if r < 0.42:
            return [b"GEOPOS", k] + [self.member() for _ in range(self.r.randint(0, 3))]
        if r < 0.65:
            return self.georadius()
        if r < 0.88:
            return self.geosearch()
        if r < 0.90:
            return [b"ZADD", k, b"%d" % self.r.randint(0, (1 << 52) - 1), self.member()]
        if r < 0.92:
            return [b"ZREM", k, self.member()]
        if r < 0.93:
            return [b"DEL", k]
        if r < 0.94:
            return [b"SET", b"str", b"x"]
        if r < 0.96:
            return [b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"]
        if r < 0.97:
            return [b"CONFIG", b"SET", b"zset-max-listpack-entries",
                    self.r.choice([b"0", b"3", b"128"])]
        return self.r.choice([[b"GEOADD", k, b"1", b"2"], [b"GEOADD", k, b"NX", b"XX", b"1",
                                                           b"2", b"m"],
                              [b"GEODIST", k, b"a", b"b", b"km", b"x"], [b"GEOPOS"],
                              [b"GEORADIUS", k, b"1", b"2", b"3"],
                              [b"GEOSEARCH", k, b"FROMLONLAT", b"1", b"2"],
                              [b"GEOSEARCHSTORE", b"d", k, b"FROMLONLAT", b"1", b"2", b"BYRADIUS",
                               b"1", b"km", b"WITHDIST"]])


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


@pytest.mark.parametrize("seed", seeds(DEFAULT_SEEDS))
def test_random_geo_commands(seed, pair):
    differ = Differ(seed, *pair, digest_every=100)
    try:
        differ.both_ctl(b"CONFIG", b"SET", b"zset-max-listpack-entries", b"128")
        differ.run_random(Generator(random.Random(seed)), COMMANDS_PER_SEED, KEYS,
                          [[b"ZRANGE", b"0", b"-1", b"WITHSCORES"]])
    finally:
        differ.close()


def test_fixed_geo_script(pair):
    """The documentation's examples, and the edges of the search."""
    differ = Differ("fixed", *pair, digest_every=5)
    script = [
        [b"GEOADD", b"Sicily", b"13.361389", b"38.115556", b"Palermo", b"15.087269",
         b"37.502669", b"Catania"],
        [b"GEODIST", b"Sicily", b"Palermo", b"Catania"],
        [b"GEODIST", b"Sicily", b"Palermo", b"Catania", b"mi"],
        [b"GEORADIUS", b"Sicily", b"15", b"37", b"200", b"km", b"WITHDIST", b"WITHCOORD",
         b"WITHHASH", b"ASC"],
        [b"GEORADIUSBYMEMBER", b"Sicily", b"Palermo", b"200", b"km", b"STORE", b"near"],
        [b"ZRANGE", b"near", b"0", b"-1", b"WITHSCORES"], [b"OBJECT", b"ENCODING", b"near"],
        [b"GEOSEARCH", b"Sicily", b"FROMLONLAT", b"15", b"37", b"BYBOX", b"400", b"400", b"km",
         b"ASC", b"WITHCOORD", b"WITHDIST"],
        [b"GEOSEARCHSTORE", b"near", b"Sicily", b"FROMLONLAT", b"15", b"37", b"BYRADIUS",
         b"1", b"m", b"STOREDIST"], [b"EXISTS", b"near"],
        [b"GEOHASH", b"Sicily", b"Palermo", b"Catania", b"nobody"],
        [b"GEOPOS", b"Sicily", b"Palermo", b"nobody"],
        [b"GEOADD", b"edge", b"180", b"85.05112878", b"ne", b"-180", b"-85.05112878", b"sw"],
        [b"GEOPOS", b"edge", b"ne", b"sw"], [b"GEOHASH", b"edge", b"ne", b"sw"],
        [b"GEORADIUS", b"edge", b"0", b"0", b"20000", b"km", b"WITHDIST"],
        [b"GEOSEARCH", b"edge", b"FROMMEMBER", b"ne", b"BYBOX", b"40000", b"40000", b"km"],
        [b"GEORADIUS", b"nokey", b"0", b"0", b"1", b"km", b"STORE", b"near"],
        [b"GEORADIUS_RO", b"Sicily", b"15", b"37", b"200", b"km", b"STORE", b"x"],
        [b"GEOSEARCH", b"Sicily", b"BYRADIUS", b"1", b"km"],
        [b"GEOSEARCH", b"Sicily", b"FROMMEMBER", b"Palermo", b"COUNT", b"1", b"ANY"],
        [b"GEOSEARCH", b"Sicily", b"FROMMEMBER", b"x", b"BYRADIUS", b"1", b"km"],
        [b"GEORADIUS", b"Sicily", b"15", b"37", b"200", b"km", b"ANY"],
        [b"GEORADIUS", b"Sicily", b"15", b"37", b"200", b"km", b"STORE", b"x", b"WITHDIST"],
        [b"GEOADD", b"Sicily", b"XX", b"CH", b"13", b"38", b"Palermo", b"1", b"1", b"New"],
        [b"GEOADD", b"Sicily", b"181", b"0", b"bad"],
        # Equal distances: which make a COUNT cut is Redis's partial sort's call.
        [b"GEOADD", b"ties"] + [x for i in range(50) for x in (b"1", b"1", b"t%d" % i)] +
        [b"1.1", b"1", b"far", b"0.99", b"1", b"near"],
        [b"GEORADIUS", b"ties", b"1", b"1", b"100", b"km", b"COUNT", b"3"],
        [b"GEORADIUS", b"ties", b"1", b"1", b"100", b"km", b"COUNT", b"7", b"DESC"],
        [b"GEOSEARCH", b"ties", b"FROMMEMBER", b"near", b"BYRADIUS", b"100", b"km", b"COUNT",
         b"45", b"ASC"],
        [b"GEOSEARCH", b"ties", b"FROMMEMBER", b"far", b"BYBOX", b"100", b"100", b"km", b"ASC"],
    ]
    try:
        differ.reset()
        for args in script:
            differ.run_one(args)
        differ.final_check([b"Sicily", b"near", b"edge"])
    finally:
        differ.close()
