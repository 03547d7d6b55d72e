#!/bin/sh
# Dev-time: regenerate the rdb_load seeds here from a redis-server 7.0 on
# 127.0.0.1 (types the shared corpus lacks: streams with consumer groups
# and pending entries, a function library, HyperLogLogs sparse and dense,
# plain and multi-node lists, expiring keys in several databases). Each
# file stays under the harness's 64 KB input limit.
#   sh tests/fuzz/corpus/rdb_load/make.sh [port]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=${1:-7479}
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$DIR" --save '' \
    --enable-debug-command yes --daemonize yes --logfile "$DIR/log"
cli() { redis-cli -p "$PORT" "$@" > /dev/null; }
until redis-cli -p "$PORT" ping > /dev/null 2>&1; do sleep 0.1; done
save_as() {
    cli SAVE
    cp "$DIR/dump.rdb" "$HERE/$1.rdb"
    cli FLUSHALL
    cli FUNCTION FLUSH
}

for i in 1 2 3 4 5 6 7 8; do cli XADD s "$i-1" f "v$i" g "$i"; done
cli XADD s 9-1 other 1
cli XGROUP CREATE s g1 0
cli XGROUP CREATE s g2 '$' ENTRIESREAD 3
cli XREADGROUP GROUP g1 alice COUNT 3 STREAMS s '>'
cli XREADGROUP GROUP g1 bob COUNT 2 STREAMS s '>'
cli XACK s g1 1-1
cli XDEL s 5-1
cli XADD empty 1-1 a b
cli XDEL empty 1-1
cli XGROUP CREATE empty g 0
save_as streams

cli FUNCTION LOAD "#!lua name=lib
redis.register_function('f', function(keys, args) return 1 end)"
cli PFADD sparse a b c d e
i=0; while [ $i -lt 300 ]; do cli PFADD dense "e$i" "f$i" "g$i" "h$i" "i$i" "j$i"; i=$((i + 1)); done
cli PFCOUNT dense
cli SETBIT bits 1000 1
cli GEOADD geo 13.361389 38.115556 a 15.087269 37.502669 b
save_as functions-hll-geo

cli DEBUG QUICKLIST-PACKED-THRESHOLD 100
cli RPUSH plain small "$(printf 'x%.0s' $(seq 1 150))" tail
cli DEBUG QUICKLIST-PACKED-THRESHOLD 0
cli CONFIG SET list-max-listpack-size 4
i=0; while [ $i -lt 40 ]; do cli RPUSH nodes "item-$i" $i; i=$((i + 1)); done
cli LINSERT nodes BEFORE item-7 inserted
save_as lists

cli SET s1 v EX 1000
cli -n 3 SET k 12345 PX 99999999
cli -n 3 HSET h f v g 12
cli -n 5 ZADD z 1 a 2.5 b -inf c
cli -n 5 SADD ints 1 2 3 -40
cli -n 5 SADD strs a b c
save_as expires-dbs

redis-cli -p "$PORT" shutdown nosave > /dev/null || true
rm -rf "$DIR"
