# Lua tests of the post scripts (lua/post_*.lua, lua/follow.lua). Sourced by
# scripts/lua-test.sh, whose helpers (run, check, checkerr, cli, j, $P) it uses.
# shellcheck shell=bash disable=SC2154

PK() { printf '%spost:{%s}' "$P" "$1"; }
UK() { printf '%suser:{%s}' "$P" "$1"; }
pcreate() { run post_create 1 "$(PK "$1")" "$1" "$2" "$3" "[]" "$4"; }
plike() { run post_like 2 "$(PK "$1")" "$(PK "$1"):likes" "$2" "$3"; }
fanout() { # MODE POST SCORE KEEP NOW USERS...
    local mode=$1 post=$2 score=$3 keep=$4 now=$5 keys=() channels=()
    shift 5
    if ((CLUSTER)) && (($# > 1)); then # one follower per call, as a cluster node does; the replies summed
        local w=0 p=0 out u
        for u in "$@"; do
            out=$(fanout "$mode" "$post" "$score" "$keep" "$now" "$u")
            [[ $out == \[* ]] || { printf '%s' "$out"; return; }
            w=$((w + $(jq '.[0]' <<<"$out"))) p=$((p + $(jq '.[1]' <<<"$out")))
        done
        printf '[%d,%d]' "$w" "$p"
        return
    fi
    for u in "$@"; do keys+=("${P}feed:{$u}" "${P}sockets:{$u}"); channels+=("${P}live:user:{$u}"); done
    run post_fanout "${#keys[@]}" "${keys[@]}" "$mode" "$post" "$score" "$keep" "$now" '{"ev":"post"}' "${channels[@]}"
}
pnotify() { # USER TYPE POST ACTOR NOW [COUNT]
    run post_notify 3 "${P}notifs:{$1}" "${P}sockets:{$1}" "$(UK "$1")" "$2" "$3" "$4" "$5" 100 3600 "${P}live:user:{$1}" "${6:-}"
}

echo "== post_create, post_update, post_delete"
check "create" 1 "$(pcreate p_1 ua hello 1000)"
checkerr "create twice" CONFLICT "$(pcreate p_1 ua again 1001)"
checkerr "create empty" INVALID "$(pcreate p_2 ua '' 1000)"
check "create writes one slot only" 0 "$(cli EXISTS "$(UK ua):posts")"
checkerr "update other" FORBIDDEN "$(run post_update 1 "$(PK p_1)" ub new 2000)"
check "update" edited "$(run post_update 1 "$(PK p_1)" ua edited 2000 | jq -r '.[index("text") + 1]')"
check "update editedAt" 2000 "$(cli HGET "$(PK p_1)" editedAt)"
checkerr "update unknown" NOT_FOUND "$(run post_update 1 "$(PK p_9)" ua x 2000)"

echo "== post_like"
check "like" "[1,1,\"ua\"]" "$(plike p_1 ub 1 | jq -c .)"
check "like again" "[0,1,\"ua\"]" "$(plike p_1 ub 1 | jq -c .)"
check "like other" "[1,2,\"ua\"]" "$(plike p_1 uc 1 | jq -c .)"
check "unlike" "[1,1,\"ua\"]" "$(plike p_1 ub 0 | jq -c .)"
check "unlike again" "[0,1,\"ua\"]" "$(plike p_1 ub 0 | jq -c .)"
checkerr "like unknown" NOT_FOUND "$(plike p_9 ub 1)"
check "like unknown wrote nothing" 0 "$(cli EXISTS "$(PK p_9):likes")"

echo "== post_comment, post_comment_delete"
cid=$(run post_comment 2 "$(PK p_1)" "$(PK p_1):comments" ub "nice" 3000 | jq -r '.[0]')
check "comment count" 1 "$(cli HGET "$(PK p_1)" comments)"
checkerr "comment delete by other" FORBIDDEN "$(run post_comment_delete 2 "$(PK p_1)" "$(PK p_1):comments" uc "$cid")"
check "comment delete by post author" 0 "$(run post_comment_delete 2 "$(PK p_1)" "$(PK p_1):comments" ua "$cid")"
checkerr "comment delete twice" NOT_FOUND "$(run post_comment_delete 2 "$(PK p_1)" "$(PK p_1):comments" ua "$cid")"
checkerr "comment on unknown" NOT_FOUND "$(run post_comment 2 "$(PK p_9)" "$(PK p_9):comments" ub x 3000)"

echo "== post_fanout"
check "fanout add" "[2,0]" "$(fanout add p_1 1000 2 5000 f1 f2 | jq -c .)"
fanout add p_2 1001 2 5000 f1 >/dev/null
fanout add p_3 1002 2 5000 f1 >/dev/null
check "fanout cap keeps newest" "p_3 p_2" "$(cli ZREVRANGE "${P}feed:{f1}" 0 -1 | paste -sd ' ')"
cli ZADD "${P}sockets:{f2}" 9999 node/1 >/dev/null
check "fanout live publishes to online only" "[0,1]" "$(fanout live p_4 1003 2 5000 f1 f2 | jq -c .)"
check "fanout live writes no feed" "" "$(cli ZSCORE "${P}feed:{f2}" p_4)"
check "fanout remove" "[1,0]" "$(fanout remove p_1 0 2 5000 f1 f2 | jq -c .)"
checkerr "fanout bad mode" INVALID "$(fanout push p_1 0 2 5000 f1)"

echo "== post_notify"
check "notify 1" 1 "$(pnotify ua post.liked p_1 ub 4000)"
check "notify same actor" 1 "$(pnotify ua post.liked p_1 ub 4001)"
check "notify 2" 2 "$(pnotify ua post.liked p_1 uc 4002)"
check "notify other type" 1 "$(pnotify ua post.commented p_1 uc 4003)"
check "notify given count" 7 "$(pnotify ua post.liked p_1 ud 4004 7)"
check "notify given lower keeps" 7 "$(pnotify ua post.liked p_1 ue 4005 3)"
check "notify one entry per type" 2 "$(cli ZCARD "${P}notifs:{ua}")"
check "notify text" "7 people liked your post" "$(cli ZREVRANGE "${P}notifs:{ua}" 0 0 | cut -c22- | jq -r .text)"
check "notify offline: not marked pushed" "" "$(cli HGET "$(UK ua)" pushedNotification)"
cli ZADD "${P}sockets:{ua}" 9999 node/1 >/dev/null
pnotify ua post.shared p_1 ub 5000 >/dev/null
check "notify online: marked pushed" "p_1/post.shared/5000" "$(cli HGET "$(UK ua)" pushedNotification)"

echo "== follow"
cli HSET "$(UK ua)" id ua >/dev/null
check "follow" "[1,1]" "$(run follow 2 "$(UK ua)" "$(UK ua):followers" ub 1 100 | jq -c .)"
check "follow again" "[0,1]" "$(run follow 2 "$(UK ua)" "$(UK ua):followers" ub 1 200 | jq -c .)"
check "follow keeps first time" 100 "$(cli ZSCORE "$(UK ua):followers" ub)"
check "unfollow" "[1,0]" "$(run follow 2 "$(UK ua)" "$(UK ua):followers" ub 0 300 | jq -c .)"
checkerr "follow unknown" NOT_FOUND "$(run follow 2 "$(UK zz)" "$(UK zz):followers" ub 1 100)"

echo "== post_delete"
checkerr "delete other" FORBIDDEN "$(run post_delete 3 "$(PK p_1)" "$(PK p_1):likes" "$(PK p_1):comments" ub p_1)"
check "delete" 1000 "$(run post_delete 3 "$(PK p_1)" "$(PK p_1):likes" "$(PK p_1):comments" ua p_1)"
check "delete removed keys" 0 "$(cli EXISTS "$(PK p_1)" "$(PK p_1):likes" "$(PK p_1):comments")"
checkerr "delete twice" NOT_FOUND "$(run post_delete 3 "$(PK p_1)" "$(PK p_1):likes" "$(PK p_1):comments" ua p_1)"

echo "== post_share"
pcreate p_5 ua shared 1000 >/dev/null
check "share" '[1,"ua"]' "$(run post_share 1 "$(PK p_5)" 1 | jq -c .)"
check "unshare" '[0,"ua"]' "$(run post_share 1 "$(PK p_5)" -1 | jq -c .)"
check "unshare never below 0" '[0,"ua"]' "$(run post_share 1 "$(PK p_5)" -1 | jq -c .)"
checkerr "share unknown" NOT_FOUND "$(run post_share 1 "$(PK p_9)" 1)"
check "share unknown wrote nothing" 0 "$(cli EXISTS "$(PK p_9)")"
