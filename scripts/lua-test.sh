#!/usr/bin/env bash
# Tests for the Redis Lua scripts in lua/. Uses the redis-server at $REDIS_URL
# when set (keys under a private prefix, removed afterwards), else starts a
# private one via scripts/redis (stopped on exit). Needs redis-cli and jq.
# Prints "N passed, M failed"; exits 1 when anything failed.
# REDIS_CLUSTER=1: the private server is a single-node Redis Cluster (see
# scripts/redis), the scripts are loaded as a cluster node loads them (SPUBLISH
# instead of PUBLISH), and the checks that pass keys of several slots to one
# script on purpose (the event stream, post_fanout with two followers) are
# skipped: a cluster refuses them (docs/redis-layout.md#redis-cluster-which-key-lives-with-which).
# shellcheck disable=SC2162 # "read" below is the name of a Lua script
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

for tool in redis-cli jq; do
    command -v "$tool" >/dev/null || { echo "lua-test: $tool not found" >&2; exit 2; }
done

tmp="" work=$(mktemp -d "${TMPDIR:-/tmp}/lua-test-work.XXXXXX")
cleanup() {
    rm -rf "$work"
    if [[ -n $tmp ]]; then scripts/redis stop "$tmp" >/dev/null 2>&1 || true; rm -rf "$tmp"
    elif [[ -n ${url:-} ]]; then
        cli --scan --pattern "${P}*" | while read -r k; do cli DEL "$k" >/dev/null; done
    fi
}
trap cleanup EXIT
if [[ -n ${REDIS_URL:-} ]]; then
    url=$REDIS_URL
else
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/lua-test.XXXXXX")
    url=$(scripts/redis start "$tmp") || exit 2
fi
cli() { redis-cli --no-auth-warning -u "$url" "$@"; }
[[ $(cli PING) == PONG ]] || { echo "lua-test: no redis at $url" >&2; exit 2; }
P="luatest$$.$RANDOM:" # key prefix of this run

CLUSTER=${REDIS_CLUSTER:-0}
[[ $(cli INFO cluster) == *cluster_enabled:1* ]] && CLUSTER=1
declare -A SHA
for f in lua/*.lua; do
    source=$(cat "$f")
    # What LuaScripts.sharded does on a cluster node.
    ((CLUSTER)) && source=$(sed 's/^local PUBLISH = "PUBLISH"/local PUBLISH = "SPUBLISH"/' "$f")
    SHA[$(basename "$f" .lua)]=$(cli SCRIPT LOAD "$source") || { echo "lua-test: cannot load $f" >&2; exit 2; }
done

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# check NAME EXPECTED ACTUAL
check() { if [[ $2 == "$3" ]]; then ok; else bad "$1: expected [$2] got [$3]"; fi; }
# checkerr NAME CODE OUTPUT: OUTPUT is the error reply "CODE ..."
checkerr() { if [[ $3 == "error:\"$2 "* ]]; then ok; else bad "$1: expected error $2, got [$3]"; fi; }
# run SCRIPT NUMKEYS KEYS... ARGV...: EVALSHA, reply printed as JSON (errors as error:"...")
run() {
    local out
    out=$(cli --json EVALSHA "${SHA[$1]}" "${@:2}")
    if [[ $out == 'error:"ERR'* || $out == *user_script* ]]; then bad "$1 leaked a Lua/Redis error: $out"; fi
    printf '%s' "$out"
}
j() { jq -r "$1" <<<"$2"; } # j FILTER JSON

K() { printf '%sconv:{%s}' "$P" "$1"; } # conversation hash key
CH() { printf '%slive:conv:{%s}' "$P" "$1"; }
send() { # C USER TEXT TS [NONCE] [MAXLEN] [ORIGIN]
    run send 6 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):msgs" "$(K "$1"):read" "$(K "$1"):nonce:$2:${5:-}" "$(K "$1"):offline" \
        "$1" "$2" "$3" "$4" "${5:-}" "${6:-0}" "$(CH "$1")" "${7:-node1/c1}"
}
readp() { run read 3 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):read" "$1" "$2" "$3" "$(CH "$1")"; }
edit() { run edit 4 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):msgs" "$(K "$1"):edits" "$1" "$2" "$3" "$4" "$5" "$(CH "$1")"; }
del() { run delete 4 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):msgs" "$(K "$1"):edits" "$1" "$2" "$3" "$4" "$(CH "$1")"; }
create() { # C KIND NAME PUBLIC CREATOR TS MEMBERS... (epoch: $EPOCH, default "ep-<C>")
    run create_conversation 5 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):joined" "$(K "$1"):read" "$(K "$1"):offline" \
        "${@:1:6}" "${EPOCH:-ep-$1}" "${@:7}"
}
add() { # C ACTOR TS MODE IDS...
    run add_members 5 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):joined" "$(K "$1"):read" "$(K "$1"):offline" "$@"
}
remove() { # C ACTOR TARGET
    run remove_member 12 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):joined" "$(K "$1"):read" \
        "$(K "$1"):msgs" "$(K "$1"):edits" "$(K "$1"):offline" "$(K "$1"):reactions" "$(K "$1"):reactors" "$(K "$1"):pins" "$(K "$1"):delivered" "$(K "$1"):muted" "$@"
}
setrole() { run set_role 2 "$(K "$1")" "$(K "$1"):members" "$@"; }
update() { run update_conversation 2 "$(K "$1")" "$(K "$1"):members" "$@"; }
delconv() {
    run delete_conversation 12 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):joined" "$(K "$1"):read" \
        "$(K "$1"):msgs" "$(K "$1"):edits" "$(K "$1"):offline" "$(K "$1"):reactions" "$(K "$1"):reactors" "$(K "$1"):pins" "$(K "$1"):delivered" "$(K "$1"):muted" "$@"
}
rl() { run rate_limit 1 "${P}ratelimit:{$1}" "${@:2}"; }
role() { cli HGET "$(K "$1"):members" "$2"; }
# subscribe to a channel in the background, output to FILE; wait until live
subscribe() {
    local sub=SUBSCRIBE numsub=NUMSUB
    ((CLUSTER)) && sub=SSUBSCRIBE numsub=SHARDNUMSUB
    redis-cli --no-auth-warning -u "$url" "$sub" "$1" >"$2" &
    SUBPID=$!
    for _ in $(seq 50); do
        [[ $(cli PUBSUB "$numsub" "$1" | tail -n 1) -ge 1 ]] && return
        sleep 0.05
    done
}
unsubscribe() { sleep 0.2; kill "$SUBPID" 2>/dev/null; wait "$SUBPID" 2>/dev/null; }
T=1700000000000

echo "== every script rejects missing ARGV with INVALID"
checkerr "send no argv" INVALID "$(run send 6 "$(K x)" "$(K x):members" "$(K x):msgs" "$(K x):read" "$(K x):n" "$(K x):offline")"
checkerr "read no argv" INVALID "$(run read 3 "$(K x)" "$(K x):members" "$(K x):read")"
checkerr "edit no argv" INVALID "$(run edit 4 "$(K x)" "$(K x):members" "$(K x):msgs" "$(K x):edits")"
checkerr "delete no argv" INVALID "$(run delete 4 "$(K x)" "$(K x):members" "$(K x):msgs" "$(K x):edits")"
checkerr "create no argv" INVALID "$(run create_conversation 5 "$(K x)" "$(K x):members" "$(K x):joined" "$(K x):read" "$(K x):offline")"
checkerr "add no argv" INVALID "$(run add_members 5 "$(K x)" "$(K x):members" "$(K x):joined" "$(K x):read" "$(K x):offline")"
checkerr "remove no argv" INVALID "$(run remove_member 12 "$(K x)" "$(K x):members" "$(K x):joined" "$(K x):read" "$(K x):msgs" "$(K x):edits" "$(K x):offline" "$(K x):reactions" "$(K x):reactors" "$(K x):pins" "$(K x):delivered" "$(K x):muted")"
checkerr "set_role no argv" INVALID "$(run set_role 2 "$(K x)" "$(K x):members")"
checkerr "update no argv" INVALID "$(run update_conversation 2 "$(K x)" "$(K x):members")"
checkerr "delconv no argv" INVALID "$(run delete_conversation 12 "$(K x)" "$(K x):members" "$(K x):joined" "$(K x):read" "$(K x):msgs" "$(K x):edits" "$(K x):offline" "$(K x):reactions" "$(K x):reactors" "$(K x):pins" "$(K x):delivered" "$(K x):muted")"
checkerr "rate_limit no argv" INVALID "$(run rate_limit 1 "${P}ratelimit:{x}")"
checkerr "send wrong key count" INVALID "$(run send 1 "$(K x)" x alice hi 1 "" 0 ch o)"

echo "== missing conversation"
checkerr "send missing conv" NOT_FOUND "$(send nope alice hi $T)"
checkerr "read missing conv" NOT_FOUND "$(readp nope alice 1)"
checkerr "edit missing conv" NOT_FOUND "$(edit nope alice 1-0 x $T)"
checkerr "delete missing conv" NOT_FOUND "$(del nope alice 1-0 $T)"
checkerr "add missing conv" NOT_FOUND "$(add nope alice $T admin bob)"
checkerr "remove missing conv" NOT_FOUND "$(remove nope alice alice)"
checkerr "set_role missing conv" NOT_FOUND "$(setrole nope alice bob admin)"
checkerr "update missing conv" NOT_FOUND "$(update nope alice name x)"
checkerr "delconv missing conv" NOT_FOUND "$(delconv nope alice)"

echo "== create_conversation"
out=$(create g1 group "Team" 0 alice $T alice bob carol bob)
check "create status" 1 "$(j '.[0]' "$out")"
check "create added" "alice,bob,carol" "$(j '.[2]|join(",")' "$out")"
check "create members" "alice:owner,bob:member,carol:member" "$(j '.[1]|fromjson|.members|map(.id+":"+.role)|join(",")' "$out")"
check "create fields" "g1 group Team false 0 $T $T" "$(j '.[1]|fromjson|"\(.id) \(.kind) \(.name) \(.public) \(.seq) \(.createdAt) \(.lastTs)"' "$out")"
check "create read pointers" "0" "$(cli HGET "$(K g1):read" carol)"
out=$(create g1 group "Other" 0 alice $((T + 5)) alice)
check "create existing status" "0 Team" "$(j '"\(.[0]) \(.[1]|fromjson|.name)"' "$out")"
check "create existing added" "0" "$(j '.[2]|length' "$out")"
checkerr "create existing other kind" CONFLICT "$(create g1 room "Team" 1 alice $T alice)"
checkerr "create bad kind" INVALID "$(create zz channel n 0 alice $T alice)"
checkerr "create bad ts" INVALID "$(create zz group n 0 alice abc alice)"
checkerr "create negative ts" INVALID "$(create zz group n 0 alice -5 alice)"
checkerr "create creator not first" INVALID "$(create zz group n 0 alice $T bob alice)"
checkerr "create public group" INVALID "$(create zz group n 1 alice $T alice)"
checkerr "create direct of 3" INVALID "$(create zz direct "" 0 alice $T alice bob carol)"
check "create invalid left no keys" 0 "$(cli EXISTS "$(K zz)")"

echo "== send"
checkerr "send non-member" NOT_MEMBER "$(send g1 dave hi $T)"
checkerr "send bad ts" INVALID "$(send g1 alice hi abc)"
checkerr "send negative ts" INVALID "$(send g1 alice hi -1)"
checkerr "send float ts" INVALID "$(send g1 alice hi 1.5)"
checkerr "send bad maxlen" INVALID "$(send g1 alice hi $T "" x)"
checkerr "send empty text" INVALID "$(send g1 alice "" $T)"
sub=$work/sub; subscribe "$(CH g1)" "$sub"
ids=() seqs=""
for i in 1 2 3 4 5; do
    out=$(send g1 alice "hello $i" $((T + i)))
    ((i == 1)) && first=$out
    seqs+="$(j '.[0]' "$out"):$(j '.[1]|fromjson|.seq' "$out") "
    ids+=("$(j '.[1]|fromjson|.id' "$out")")
done
unsubscribe
check "send seq 1..5" "1:1 1:2 1:3 1:4 1:5 " "$seqs"
check "send ids ordered" "${ids[*]}" "$(printf '%s\n' "${ids[@]}" | sort -t- -k1,1n -k2,2n | xargs)"
check "send conv seq" 5 "$(cli HGET "$(K g1)" seq)"
check "send lastTs" $((T + 5)) "$(cli HGET "$(K g1)" lastTs)"
check "send lastMessage" "${ids[4]} 5 hello 5" "$(j '"\(.id) \(.seq) \(.text)"' "$(cli HGET "$(K g1)" lastMessage)")"
check "send sender pointer" 5 "$(cli HGET "$(K g1):read" alice)"
check "send stream len" 5 "$(cli XLEN "$(K g1):msgs")"
check "send stream fields" "seq 1 from alice kind text text hello 1 ts $((T + 1))" \
    "$(cli XRANGE "$(K g1):msgs" - + COUNT 1 | tail -n +2 | xargs)"
check "send integers in JSON" '"seq":1 "ts":'$((T + 1)) "$(j '.[1]' "$first" | grep -o '"\(seq\|ts\)":[-0-9.e+]*' | sort | paste -sd' ')"
check "publish count" 5 "$(grep -c '"ev":"message"' "$sub")"
ev=$(grep '"ev":"message"' "$sub" | head -n 1)
check "publish payload" "message g1 1 alice hello 1 $((T + 1)) node1/c1" \
    "$(j '"\(.ev) \(.message.conv) \(.message.seq) \(.message.from) \(.message.text) \(.message.ts) \(.origin)"' "$ev")"
check "publish payload order" "1 1" \
    "$([[ $ev == '{"ev":"message","message":{'* ]] && echo 1) $([[ $ev == *',"origin":"node1/c1"}' ]] && echo 1)"

echo "== offline set"
off() { run offline 3 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):offline" "$2"; }
create o1 group "Away" 0 alice $T alice bob carol >/dev/null
check "create fills offline set" "alice bob carol" "$(cli SMEMBERS "$(K o1):offline" | sort | xargs)"
out=$(send o1 alice "who is away" $((T + 1)))
check "send answers kind and offline members" "group bob,carol" "$(j '"\(.[2]) \(.[3]|sort|join(","))"' "$out")"
cli SREM "$(K o1):offline" bob >/dev/null
check "send skips the online" "carol" "$(j '.[3]|join(",")' "$(send o1 alice "again" $((T + 2)))")"
check "offline marks a member" 1 "$(off o1 bob)"
check "offline ignores a non-member" 0 "$(off o1 zed)"
check "offline missing conv" 0 "$(off nope bob)"
check "offline set after" "alice bob carol" "$(cli SMEMBERS "$(K o1):offline" | sort | xargs)"
remove o1 carol carol >/dev/null
check "leaving empties the entry" "alice bob" "$(cli SMEMBERS "$(K o1):offline" | sort | xargs)"
create o2 room "Lobby" 1 alice $T alice bob >/dev/null
check "rooms keep no offline set" "0 0" "$(cli EXISTS "$(K o2):offline") $(off o2 bob)"
check "room send offline empty" "room 0" "$(j '"\(.[2]) \(.[3]|length)"' "$(send o2 alice hi $((T + 1)))")"
delconv o1 alice >/dev/null
check "delete drops the offline set" 0 "$(cli EXISTS "$(K o1):offline")"
checkerr "offline no user" INVALID "$(run offline 3 "$(K o2)" "$(K o2):members" "$(K o2):offline")"

echo "== nonce dedupe"
sub2=$work/sub2; subscribe "$(CH g1)" "$sub2"
first=$(send g1 bob "with nonce" $((T + 10)) nx1)
again=$(send g1 bob "changed text" $((T + 11)) nx1)
unsubscribe
check "nonce first stored" "1 6 nx1" "$(j '"\(.[0]) \(.[1]|fromjson|.seq) \(.[1]|fromjson|.nonce)"' "$first")"
check "nonce retry is duplicate" 0 "$(j '.[0]' "$again")"
check "nonce retry returns first" "$(j '.[1]' "$first")" "$(j '.[1]' "$again")"
check "nonce retry stores nothing" "6 6" "$(cli HGET "$(K g1)" seq) $(cli XLEN "$(K g1):msgs")"
check "nonce retry publishes nothing" 1 "$(grep -c '"ev":"message"' "$sub2")"
ttl=$(cli TTL "$(K g1):nonce:bob:nx1")
check "nonce ttl" 1 "$((ttl > 590 && ttl <= 600))"
out=$(send g1 carol "same nonce other user" $((T + 12)) nx1)
check "nonce scoped to sender" "1 7" "$(j '"\(.[0]) \(.[1]|fromjson|.seq)"' "$out")"
checkerr "nonce non-member still refused" NOT_MEMBER "$(send g1 dave x $T nx1)"

echo "== send retention"
create g9 group r 0 alice $T alice >/dev/null
for i in $(seq 1 300); do send g9 alice "m$i" $((T + i)) "" 100 >/dev/null; done
len=$(cli XLEN "$(K g9):msgs")
check "maxlen trims approximately" 1 "$((len >= 100 && len < 300))"
check "maxlen keeps seq" 300 "$(cli HGET "$(K g9)" seq)"

echo "== read pointers"
create g2 group r 0 alice $T alice bob >/dev/null
for i in 1 2 3 4 5; do send g2 alice "m$i" $((T + i)) >/dev/null; done
check "read initial" "[5,0]" "$(jq -c . <<<"$(readp g2 bob 0)")"
sub3=$work/sub3; subscribe "$(CH g2)" "$sub3"
check "read to 3" "[2,3]" "$(jq -c . <<<"$(readp g2 bob 3)")"
check "read never backwards" "[2,3]" "$(jq -c . <<<"$(readp g2 bob 2)")"
check "read same again" "[2,3]" "$(jq -c . <<<"$(readp g2 bob 3)")"
check "read clamped to seq" "[0,5]" "$(jq -c . <<<"$(readp g2 bob 999999999999999999999999)")"
unsubscribe
send g2 bob "reply" $((T + 6)) >/dev/null
check "send moves sender pointer" "[0,6]" "$(jq -c . <<<"$(readp g2 bob 1)")"
check "other member unread" "[1,5]" "$(jq -c . <<<"$(readp g2 alice 0)")"
check "read publishes only moves" 2 "$(grep -c '"ev":"read"' "$sub3")"
ev=$(grep '"ev":"read"' "$sub3" | head -n 1)
check "read payload" "read g2 bob 3" "$(j '"\(.ev) \(.conv) \(.user) \(.seq)"' "$ev")"
checkerr "read negative" INVALID "$(readp g1 bob -1)"
checkerr "read float" INVALID "$(readp g1 bob 1.5)"
checkerr "read text" INVALID "$(readp g1 bob abc)"
checkerr "read empty" INVALID "$(readp g1 bob "")"
checkerr "read non-member" NOT_MEMBER "$(readp g1 dave 1)"

echo "== edit"
mid=${ids[1]} # alice's seq 2
checkerr "edit by non-author" FORBIDDEN "$(edit g1 bob "$mid" "hacked" $((T + 20)))"
checkerr "edit by non-member" NOT_MEMBER "$(edit g1 dave "$mid" "hacked" $((T + 20)))"
checkerr "edit malformed id" INVALID "$(edit g1 alice "abc" "x" $((T + 20)))"
checkerr "edit partial id" INVALID "$(edit g1 alice "${mid%-*}" "x" $((T + 20)))"
checkerr "edit huge id" INVALID "$(edit g1 alice "99999999999999999999999-0" "x" $((T + 20)))"
checkerr "edit missing message" NOT_FOUND "$(edit g1 alice "1-0" "x" $((T + 20)))"
checkerr "edit bad ts" INVALID "$(edit g1 alice "$mid" "x" soon)"
checkerr "edit empty text" INVALID "$(edit g1 alice "$mid" "" $((T + 20)))"
out=$(edit g1 alice "$mid" "edited two" $((T + 20)))
check "edit result" "$mid 2 edited two $((T + 2)) $((T + 20))" "$(j 'fromjson|"\(.id) \(.seq) \(.text) \(.ts) \(.editedAt)"' "$out")"
check "edit stored" "edited two $((T + 20))" "$(j '"\(.text) \(.editedAt)"' "$(cli HGET "$(K g1):edits" "$mid")")"
lastid=$(j '.id' "$(cli HGET "$(K g1)" lastMessage)")
out=$(edit g1 carol "$lastid" "carol edited" $((T + 21)))
check "edit updates lastMessage" "carol edited $((T + 21))" "$(j '"\(.text) \(.editedAt)"' "$(cli HGET "$(K g1)" lastMessage)")"

echo "== delete"
mid3=${ids[2]}
checkerr "delete by plain member" FORBIDDEN "$(del g1 bob "$mid3" $((T + 30)))"
out=$(del g1 alice "$mid" $((T + 30)))
check "delete by author" "$mid 2  true null" "$(j 'fromjson|"\(.id) \(.seq) \(.text) \(.deleted) \(.editedAt)"' "$out")"
checkerr "edit deleted" NOT_FOUND "$(edit g1 alice "$mid" "again" $((T + 31)))"
checkerr "delete twice" NOT_FOUND "$(del g1 alice "$mid" $((T + 31)))"
sub4=$work/sub4; subscribe "$(CH g1)" "$sub4"
setrole g1 alice bob admin >/dev/null
out=$(del g1 bob "$lastid" $((T + 32)))
unsubscribe
check "delete by admin" "true" "$(j 'fromjson|.deleted' "$out")"
check "delete updates lastMessage" "true " "$(j '"\(.deleted) \(.text)"' "$(cli HGET "$(K g1)" lastMessage)")"
check "delete event" "message.deleted $lastid true" "$(j '"\(.ev) \(.message.id) \(.message.deleted)"' "$(grep message.deleted "$sub4")")"

echo "== rich send: extras, replies, quotes"
sendx() { # C USER TEXT TS EXTRAS_JSON
    run send 9 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):msgs" "$(K "$1"):read" "$(K "$1"):nonce:$2:" "$(K "$1"):offline" \
        "$(K "$1"):edits" "$(K "$1"):replies" "$(K "$1"):thread" "$1" "$2" "$3" "$4" "" 0 "$(CH "$1")" n1/c1 "$5"
}
create rich group R 0 alice $T alice bob >/dev/null
orig=$(j '.[1]|fromjson|.id' "$(send rich alice "a$(printf 'é%.0s' $(seq 150))" $T)")
checkerr "extras not JSON" INVALID "$(sendx rich bob hi $T 'nope')"
checkerr "empty text, no content" INVALID "$(sendx rich bob "" $T '{}')"
checkerr "reply to unknown" NOT_FOUND "$(sendx rich bob hi $T '{"replyTo":"1-0"}')"
checkerr "reply to malformed" NOT_FOUND "$(sendx rich bob hi $T '{"replyTo":"x"}')"
out=$(sendx rich bob "yes" $((T + 1)) "{\"replyTo\":\"$orig\"}")
check "reply quote cut at a character" "199 $orig alice" "$(j '.[1]|fromjson|.replyTo|"\(.text|utf8bytelength) \(.id) \(.from)"' "$out")"
check "reply kind text" "text" "$(j '.[1]|fromjson|.kind' "$out")"
check "reply count" 1 "$(cli HGET "$(K rich):replies" "$orig")"
check "thread entry" "$orig|" "$(cli ZRANGE "$(K rich):thread" 0 -1 | cut -c1-$((${#orig} + 1)))"
check "entry keeps replyTo" "$orig" "$(cli --json XREVRANGE "$(K rich):msgs" + - COUNT 1 | jq -r '.[0][1] as $f | [range(0; $f|length; 2)] | map({($f[.]): $f[.+1]}) | add | .replyTo | fromjson | .id')"
out=$(sendx rich alice "" $((T + 2)) '{"kind":"image","attachments":[{"id":"f_1","name":"a.png","type":"image/png","size":3,"url":"/api/v1/files/f_1"}]}')
check "attachment message" "image 1 f_1" "$(j '.[1]|fromjson|"\(.kind) \(.attachments|length) \(.attachments[0].id)"' "$out")"
aid=$(j '.[1]|fromjson|.id' "$out")
out=$(edit rich alice "$aid" "caption" $((T + 3)))
check "edit keeps attachments" "f_1 caption" "$(j 'fromjson|"\(.attachments[0].id) \(.text)"' "$out")"
del rich alice "$orig" $((T + 4)) >/dev/null
checkerr "reply to deleted" NOT_FOUND "$(sendx rich bob hi $((T + 5)) "{\"replyTo\":\"$orig\"}")"
check "reply count unchanged" 1 "$(cli HGET "$(K rich):replies" "$orig")"

echo "== add_members"
checkerr "add by member" FORBIDDEN "$(add g1 carol $((T + 40)) admin dave)"
checkerr "add by non-member" NOT_MEMBER "$(add g1 zed $((T + 40)) admin dave)"
checkerr "add bad mode" INVALID "$(add g1 alice $((T + 40)) root dave)"
checkerr "add bad ts" INVALID "$(add g1 alice x admin dave)"
checkerr "add no ids" INVALID "$(add g1 alice $((T + 40)) admin)"
checkerr "add self to group" NOT_MEMBER "$(add g1 dave $((T + 40)) self dave)"
out=$(add g1 bob $((T + 40)) admin dave carol erin)
check "add skips members" '["dave","erin"]' "$(jq -c . <<<"$out")"
check "add role" member "$(role g1 dave)"
check "add pointer at seq" 7 "$(cli HGET "$(K g1):read" dave)"
check "add unread 0" "[0,7]" "$(jq -c . <<<"$(readp g1 dave 0)")"
check "add joined" $((T + 40)) "$(cli ZSCORE "$(K g1):joined" dave)"
check "add nothing new" "[]" "$(jq -c . <<<"$(add g1 alice $((T + 41)) admin dave)")"
create r1 room "Lobby" 1 alice $T alice >/dev/null
check "self join room" '["eve"]' "$(jq -c . <<<"$(add r1 eve $((T + 50)) self eve)")"
check "self join again" '[]' "$(jq -c . <<<"$(add r1 eve $((T + 51)) self eve)")"
checkerr "self join others" FORBIDDEN "$(add r1 eve $((T + 52)) self zed)"
checkerr "self join two ids" FORBIDDEN "$(add r1 zed $((T + 52)) self zed eve)"
create r2 room "Secret" 0 alice $T alice >/dev/null
checkerr "self join private room" NOT_MEMBER "$(add r2 eve $((T + 52)) self eve)"
check "self join as a member adds nothing" "[]" "$(jq -c . <<<"$(add r2 alice $((T + 52)) self alice)")"

echo "== direct conversations"
out=$(create d1 direct "" 0 alice $T alice bob)
check "direct created (no owner)" "1 alice:member,bob:member" "$(j '"\(.[0]) \(.[1]|fromjson|.members|map(.id+":"+.role)|join(","))"' "$out")"
checkerr "direct add" FORBIDDEN "$(add d1 alice $((T + 1)) admin carol)"
checkerr "direct remove other" FORBIDDEN "$(remove d1 alice bob)"
checkerr "direct set_role" FORBIDDEN "$(setrole d1 alice bob owner)"
checkerr "direct update" FORBIDDEN "$(update d1 alice name x)"
send d1 alice "dm" $((T + 2)) >/dev/null
check "direct leave" '["removed",""]' "$(jq -c . <<<"$(remove d1 bob bob)")"
out=$(create d1 direct "" 0 alice $((T + 3)) alice bob)
check "direct asked again re-adds" '0 ["bob"] 1' "$(j '"\(.[0]) \(.[2]|tojson) \(.[1]|fromjson|.seq)"' "$out")"
check "direct re-added pointer" 1 "$(cli HGET "$(K d1):read" bob)"

echo "== epoch"
check "epoch on create" "ep-g1 ep-g1" "$(cli HGET "$(K g1)" epoch) $(j '.[1]|fromjson|.epoch' "$(create g1 group "Team" 0 alice $T alice)")"
check "epoch kept when asked again" "ep-d1" "$(j '.[1]|fromjson|.epoch' "$(EPOCH=other create d1 direct "" 0 alice $((T + 4)) alice bob)")"
check "epoch on sent message" "ep-d1" "$(j '.[1]|fromjson|.epoch' "$(send d1 alice "e" $((T + 5)))")"
checkerr "epoch missing" INVALID "$(EPOCH=" " create zz group n 0 alice $T alice)"
checkerr "epoch bad characters" INVALID "$(EPOCH='a/b' create zz group n 0 alice $T alice)"
remove d1 alice alice >/dev/null
check "direct deleted by the last leave" '["deleted",""]' "$(jq -c . <<<"$(remove d1 bob bob)")"
out=$(EPOCH=ep-d1-2 create d1 direct "" 0 alice $((T + 6)) alice bob)
check "direct opened again: new epoch, seq 0" "1 ep-d1-2 0" "$(j '"\(.[0]) \(.[1]|fromjson|.epoch) \(.[1]|fromjson|.seq)"' "$out")"
check "new epoch on its messages" "1 ep-d1-2" "$(j '.[1]|fromjson|"\(.seq) \(.epoch)"' "$(send d1 bob "again" $((T + 7)))")"
cli HDEL "$(K d1)" epoch >/dev/null # a conversation from before epochs
check "no epoch: message without one" "null" "$(j '.[1]|fromjson|.epoch' "$(send d1 bob "old" $((T + 8)))")"

echo "== set_role"
checkerr "set_role by admin" FORBIDDEN "$(setrole g1 bob carol admin)"
checkerr "set_role by non-member" NOT_MEMBER "$(setrole g1 zed carol admin)"
checkerr "set_role bad role" INVALID "$(setrole g1 alice carol king)"
checkerr "set_role target not member" NOT_FOUND "$(setrole g1 alice zed admin)"
checkerr "set_role owner demotes self" CONFLICT "$(setrole g1 alice alice member)"
check "set_role owner self no-op" '"owner"' "$(setrole g1 alice alice owner)"
check "set_role admin" '"admin"' "$(setrole g1 alice carol admin)"
check "set_role member" '"member"' "$(setrole g1 alice carol member)"
check "set_role transfer" '"owner"' "$(setrole g1 alice bob owner)"
check "set_role old owner admin" "admin owner" "$(role g1 alice) $(role g1 bob)"
setrole g1 bob alice owner >/dev/null
check "set_role transfer back" "owner admin" "$(role g1 alice) $(role g1 bob)"
setrole g1 alice bob member >/dev/null

echo "== update_conversation"
checkerr "update by member" FORBIDDEN "$(update g1 carol name x)"
checkerr "update by non-member" NOT_MEMBER "$(update g1 zed name x)"
checkerr "update bad field" INVALID "$(update g1 alice seq 100)"
checkerr "update odd args" INVALID "$(update g1 alice name)"
setrole g1 alice carol admin >/dev/null
out=$(update g1 carol name "New name" description "about")
check "update by admin" "New name about 7 false" "$(j 'fromjson|"\(.name) \(.description) \(.seq) \(.public)"' "$out")"
check "update stored" "New name" "$(cli HGET "$(K g1)" name)"

echo "== remove_member and owner hand-over"
# g1 now: alice owner, carol admin, bob/dave/erin member
checkerr "remove by member" FORBIDDEN "$(remove g1 bob dave)"
checkerr "remove owner" FORBIDDEN "$(remove g1 carol alice)"
checkerr "remove non-member" NOT_FOUND "$(remove g1 alice zed)"
checkerr "remove by non-member" NOT_MEMBER "$(remove g1 zed zed)"
check "admin removes member" '["removed",""]' "$(jq -c . <<<"$(remove g1 carol erin)")"
check "removed keys gone" "0 0 0" "$(cli HEXISTS "$(K g1):members" erin) $(cli HEXISTS "$(K g1):read" erin) $(cli ZSCORE "$(K g1):joined" erin | wc -w)"
setrole g1 alice dave admin >/dev/null
checkerr "admin removes admin" FORBIDDEN "$(remove g1 carol dave)"
# join times: alice, bob, carol at T; dave at T+40. Admins: carol (T), dave (T+40)
check "owner leaves: oldest admin" '["removed","carol"]' "$(jq -c . <<<"$(remove g1 alice alice)")"
check "new owner role" owner "$(role g1 carol)"
check "owner removes admin" '["removed",""]' "$(jq -c . <<<"$(remove g1 carol dave)")"
# tie on join time, no admins: lowest id wins even though listed later
create g3 group t 0 zoe $T zoe mia kim >/dev/null
check "hand-over tie by id" '["removed","kim"]' "$(jq -c . <<<"$(remove g3 zoe zoe)")"
create g4 group t 0 zoe 1000 zoe mia >/dev/null
add g4 zoe 500 admin kim >/dev/null
check "hand-over oldest member" '["removed","kim"]' "$(jq -c . <<<"$(remove g4 zoe zoe)")"

echo "== last member leaving deletes the conversation"
m=$(j '.[1]|fromjson|.id' "$(send g3 mia "bye" $((T + 1)))")
edit g3 mia "$m" "bye!" $((T + 2)) >/dev/null
check "g3 keys before" 6 "$(cli EXISTS "$(K g3)" "$(K g3):members" "$(K g3):joined" "$(K g3):read" "$(K g3):msgs" "$(K g3):edits")"
check "g3 first leaves" '["removed",""]' "$(jq -c . <<<"$(remove g3 mia mia)")"
check "g3 last leaves" '["deleted",""]' "$(jq -c . <<<"$(remove g3 kim kim)")"
check "g3 keys after" 0 "$(cli EXISTS "$(K g3)" "$(K g3):members" "$(K g3):joined" "$(K g3):read" "$(K g3):msgs" "$(K g3):edits")"
checkerr "g3 send after delete" NOT_FOUND "$(send g3 mia x $T)"

echo "== delete_conversation"
checkerr "delconv by admin" FORBIDDEN "$(delconv r1 eve)"
setrole r1 alice eve admin >/dev/null
checkerr "delconv by admin 2" FORBIDDEN "$(delconv r1 eve)"
checkerr "delconv by non-member" NOT_MEMBER "$(delconv r1 zed)"
send r1 eve hi $T >/dev/null
check "delconv by owner" "alice,eve" "$(j 'sort|join(",")' "$(delconv r1 alice)")"
check "delconv keys gone" 0 "$(cli EXISTS "$(K r1)" "$(K r1):members" "$(K r1):joined" "$(K r1):read" "$(K r1):msgs" "$(K r1):edits")"

echo "== rate_limit"
check "rl 1" "[1,0,2]" "$(jq -c . <<<"$(rl u1 3 1 1000)")"
check "rl 2" "[1,0,1]" "$(jq -c . <<<"$(rl u1 3 1 1000)")"
check "rl 3" "[1,0,0]" "$(jq -c . <<<"$(rl u1 3 1 1000 1)")"
check "rl refused" "[0,1000,0]" "$(jq -c . <<<"$(rl u1 3 1 1000)")"
check "rl refused later" "[0,500,0]" "$(jq -c . <<<"$(rl u1 3 1 1500)")"
check "rl clock skew" "[0,500,0]" "$(jq -c . <<<"$(rl u1 3 1 1200)")"
check "rl refilled" "[1,0,0]" "$(jq -c . <<<"$(rl u1 3 1 2000)")"
check "rl full again" "[1,0,2]" "$(jq -c . <<<"$(rl u1 3 1 60000)")"
pttl=$(cli PTTL "${P}ratelimit:{u1}")
check "rl pttl" 1 "$((pttl > 0 && pttl <= 4000))"
check "rl cost" "[0,3000,0]" "$(jq -c . <<<"$(rl u2 2 0.5 1000 2; rl u2 2 0.5 1000 1.5)" | tail -n 1)"
check "rl peek" "[1,0,0]" "$(jq -c . <<<"$(rl u2 2 0.5 1000 0)")"
checkerr "rl bad capacity" INVALID "$(rl u3 abc 1 1000)"
checkerr "rl inf capacity" INVALID "$(rl u3 inf 1 1000)"
checkerr "rl zero refill" INVALID "$(rl u3 3 0 1000)"
checkerr "rl exp refill" INVALID "$(rl u3 3 1e3 1000)"
checkerr "rl bad now" INVALID "$(rl u3 3 1 -5)"
checkerr "rl cost > capacity" INVALID "$(rl u3 3 1 1000 4)"
checkerr "rl bad cost" INVALID "$(rl u3 3 1 1000 x)"
check "rl invalid wrote nothing" 0 "$(cli EXISTS "${P}ratelimit:{u3}")"

if ((CLUSTER)); then
echo "== event stream: skipped on a cluster (one sb:events stream is another slot)"
else
echo "== event stream (KEYS[n+1] = stream, last ARGV = MAXLEN)"
E="${P}events"
evs() { cli --json XRANGE "$E" - + | jq -r 'map(.[1][1]|fromjson|.type)|join(",")'; }
evlast() { cli --json XREVRANGE "$E" + - COUNT 1 | jq -r '.[0][1][1]'; }
C=ev1
run create_conversation 6 "$(K $C)" "$(K $C):members" "$(K $C):joined" "$(K $C):read" "$(K $C):offline" "$E" \
    $C group Ev 0 alice $T ep1 alice bob 0 >/dev/null
check "ev created" "conversation.created" "$(evs)"
check "ev created data" "$C alice alice,bob $T" "$(j '"\(.data.conversation.id) \(.data.by) \(.data.conversation.members|map(.id)|join(",")) \(.ts)"' "$(evlast)")"
run create_conversation 6 "$(K $C)" "$(K $C):members" "$(K $C):joined" "$(K $C):read" "$(K $C):offline" "$E" \
    $C group Ev 0 alice $T ep1 alice 0 >/dev/null
check "ev existing: none" "conversation.created" "$(evs)"
out=$(run send 7 "$(K $C)" "$(K $C):members" "$(K $C):msgs" "$(K $C):read" "$(K $C):nonce:bob:n1" "$(K $C):offline" "$E" \
    $C bob hello $((T + 1)) n1 0 "$(CH $C)" o 1000)
check "ev send reply unchanged" 1 "$(j '.[0]' "$out")"
check "ev sent" "message.sent hello 1 $((T + 1))" "$(j '"\(.type) \(.data.message.text) \(.data.message.seq) \(.ts)"' "$(evlast)")"
run send 7 "$(K $C)" "$(K $C):members" "$(K $C):msgs" "$(K $C):read" "$(K $C):nonce:bob:n1" "$(K $C):offline" "$E" \
    $C bob hello $((T + 2)) n1 0 "$(CH $C)" o 1000 >/dev/null
checkerr "ev refused send" NOT_MEMBER "$(run send 7 "$(K $C)" "$(K $C):members" "$(K $C):msgs" "$(K $C):read" "$(K $C):nonce:zed:" "$(K $C):offline" "$E" \
    $C zed hi $((T + 2)) "" 0 "$(CH $C)" o 1000)"
check "ev nonce repeat and refusal: none" "conversation.created,message.sent" "$(evs)"
mid=$(j '.[1]|fromjson|.id' "$out")
run edit 5 "$(K $C)" "$(K $C):members" "$(K $C):msgs" "$(K $C):edits" "$E" $C bob "$mid" again $((T + 3)) "" "" 0 >/dev/null
run delete 5 "$(K $C)" "$(K $C):members" "$(K $C):msgs" "$(K $C):edits" "$E" $C alice "$mid" $((T + 4)) "" "" 0 >/dev/null
run read 4 "$(K $C)" "$(K $C):members" "$(K $C):read" "$E" $C alice 1 "" 0 >/dev/null
run add_members 6 "$(K $C)" "$(K $C):members" "$(K $C):joined" "$(K $C):read" "$(K $C):offline" "$E" $C alice $T admin carol bob 0 >/dev/null
run set_role 3 "$(K $C)" "$(K $C):members" "$E" $C alice carol owner 0 >/dev/null
run update_conversation 3 "$(K $C)" "$(K $C):members" "$E" $C carol name Renamed 0 >/dev/null
run remove_member 13 "$(K $C)" "$(K $C):members" "$(K $C):joined" "$(K $C):read" "$(K $C):msgs" "$(K $C):edits" "$(K $C):offline" "$(K $C):reactions" "$(K $C):reactors" "$(K $C):pins" "$(K $C):delivered" "$(K $C):muted" "$E" $C carol bob 0 >/dev/null
check "ev types in order" "conversation.created,message.sent,message.edited,message.deleted,read.updated,member.added,member.role_changed,member.role_changed,conversation.updated,member.removed" "$(evs)"
run remove_member 13 "$(K $C)" "$(K $C):members" "$(K $C):joined" "$(K $C):read" "$(K $C):msgs" "$(K $C):edits" "$(K $C):offline" "$(K $C):reactions" "$(K $C):reactors" "$(K $C):pins" "$(K $C):delivered" "$(K $C):muted" "$E" $C carol carol 0 >/dev/null
check "ev owner leaves: hand-over" "member.removed,member.role_changed" "$(cli --json XREVRANGE "$E" + - COUNT 2 | jq -r 'reverse|map(.[1][1]|fromjson|"\(.type)")|join(",")')"
check "ev new owner" "alice owner admin" "$(j '"\(.data.user) \(.data.role) \(.data.previous)"' "$(evlast)")"
run remove_member 13 "$(K $C)" "$(K $C):members" "$(K $C):joined" "$(K $C):read" "$(K $C):msgs" "$(K $C):edits" "$(K $C):offline" "$(K $C):reactions" "$(K $C):reactors" "$(K $C):pins" "$(K $C):delivered" "$(K $C):muted" "$E" $C alice alice 0 >/dev/null
check "ev last member: deleted" "conversation.deleted Renamed" "$(j '"\(.type) \(.data.conversation.name)"' "$(evlast)")"
U="${P}user:{ev}"
run create_user 2 "$U" "$E" ev_u evname "Ev User" $T "" 0 >/dev/null
check "ev user.created" "user.created ev_u" "$(j '"\(.type) \(.data.user.id)"' "$(evlast)")"
check "ev create_user external" "1" "$(cli HGET "$U" external)"
check "ev create_user twice" 0 "$(run create_user 2 "$U" "$E" ev_u evname "Ev User" $T "" 0)"
run update_profile 2 "$U" "$E" bio hi 0 >/dev/null
check "ev user.updated" "user.updated hi Ev User" "$(j '"\(.type) \(.data.user.bio) \(.data.user.displayName)"' "$(evlast)")"
run presence_connect 4 "${P}sockets:{ev}" "${P}presence:{ev}" "$U" "$E" n1/1 $T $((T + 30000)) 30 "" ev_u 0 >/dev/null
run presence_connect 4 "${P}sockets:{ev}" "${P}presence:{ev}" "$U" "$E" n1/2 $T $((T + 30000)) 30 "" ev_u 0 >/dev/null
run presence_disconnect 4 "${P}sockets:{ev}" "${P}presence:{ev}" "$U" "$E" $T "" ev_u member n1/1 0 >/dev/null
run presence_disconnect 4 "${P}sockets:{ev}" "${P}presence:{ev}" "$U" "$E" $T "" ev_u member n1/2 0 >/dev/null
check "ev presence once each" "presence.online,presence.offline" "$(cli --json XREVRANGE "$E" + - COUNT 2 | jq -r 'reverse|map(.[1][1]|fromjson|.type)|join(",")')"
run presence_disconnect 4 "${P}sockets:{ev}" "${P}presence:{ev}" "$U" "$E" $T "" ev_u node n9 0 >/dev/null
check "ev dead node: offline" "presence.offline" "$(j .type "$(evlast)")"
before=$(cli XLEN "$E")
send ev2 alice hi $T >/dev/null
run ensure_user 1 "${P}user:{ev3}" ev3 ext $T >/dev/null
check "ev no key: nothing" "$before" "$(cli XLEN "$E")"
for i in $(seq 300); do run create_user 2 "${P}user:{evm$i}" "$E" "evm$i" n n $T "" 100 >/dev/null; done
check "ev maxlen ~ trims" 1 "$(( $(cli XLEN "$E") < 300 ))"
fi
# shellcheck source=scripts/lua-test-posts.sh
[[ -f scripts/lua-test-posts.sh ]] && source scripts/lua-test-posts.sh
# shellcheck source=scripts/lua-test-messages.sh
[[ -f scripts/lua-test-messages.sh ]] && source scripts/lua-test-messages.sh

echo "$pass passed, $fail failed"
((fail == 0))
