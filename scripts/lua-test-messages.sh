# Lua tests of reactions, pins, delivery receipts, mutes and mentions
# (lua/react.lua, pin.lua, delivered.lua, mute.lua, mention.lua). Sourced by
# scripts/lua-test.sh, whose helpers (run, check, checkerr, cli, j, K, CH,
# create, send, del, delconv, subscribe, $P, $T) it uses.
# shellcheck shell=bash disable=SC2154

react() { # C USER MSG EMOJI 1|0 [MAX]
    run react 6 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):msgs" "$(K "$1"):edits" "$(K "$1"):reactions" "$(K "$1"):reactors" \
        "$1" "$2" "$3" "$4" "$5" "${6:-20}" "$(CH "$1")" ""
}
pin() { # C USER MSG 1|0 [MAX]
    run pin 5 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):msgs" "$(K "$1"):edits" "$(K "$1"):pins" \
        "$1" "$2" "$3" "$4" "${5:-50}" "$T" "$(CH "$1")"
}
delivered() { run delivered 3 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):delivered" "$1" "$2" "$3" "$(CH "$1")"; }
mute() { run mute 3 "$(K "$1")" "$(K "$1"):members" "$(K "$1"):muted" "$2" "$3" "$T"; }

echo "== react"
create rx group "Reacts" 0 alice $T alice bob carol >/dev/null
m1=$(send rx alice "first" $T | jq -r '.[1]' | jq -r .id)
m2=$(send rx alice "second" $((T + 1)) | jq -r '.[1]' | jq -r .id)
check "react add" "[1,1]" "$(react rx bob "$m1" 👍 1 | jq -c .)"
check "react twice" "[0,1]" "$(react rx bob "$m1" 👍 1 | jq -c .)"
check "react other user" "[1,2]" "$(react rx carol "$m1" 👍 1 | jq -c .)"
check "react counts stored" '{"👍":2}' "$(cli HGET "$(K rx):reactions" "$m1" | jq -c .)"
checkerr "react non-member" NOT_MEMBER "$(react rx zed "$m1" 👍 1)"
checkerr "react unknown message" NOT_FOUND "$(react rx bob 1-999 👍 1)"
checkerr "react malformed id" INVALID "$(react rx bob nope 👍 1)"
checkerr "react missing conv" NOT_FOUND "$(react nope bob "$m1" 👍 1)"
checkerr "react emoji with a space" INVALID "$(react rx bob "$m1" "a b" 1)"
checkerr "react bad flag" INVALID "$(react rx bob "$m1" 👍 2)"
check "react second emoji" "[1,1]" "$(react rx bob "$m1" ❤️ 1 2 | jq -c .)"
checkerr "react past the distinct limit" CONFLICT "$(react rx bob "$m1" 🎉 1 2)"
check "react known emoji at the limit" "[1,2]" "$(react rx alice "$m1" ❤️ 1 2 | jq -c .)"
subscribe "$(CH rx)" "$work/react.out"
check "react remove" "[1,1]" "$(react rx bob "$m1" 👍 0 | jq -c .)"
unsubscribe
check "react event" '{"ev":"reaction","conv":"rx","id":"'"$m1"'","emoji":"👍","user":"bob","on":false,"count":1}' \
    "$(grep '^{' "$work/react.out" | jq -c '{ev,conv,id,emoji,user,on,count}')"
check "react remove again" "[0,1]" "$(react rx bob "$m1" 👍 0 | jq -c .)"
react rx carol "$m1" 👍 0 >/dev/null
check "react last one drops the emoji" '{"❤️":2}' "$(cli HGET "$(K rx):reactions" "$m1" | jq -c .)"
check "reactors by lex range" "alice,bob" "$(cli --json ZRANGEBYLEX "$(K rx):reactors" "[$m1"$'\x1f'"❤️"$'\x1f' "($m1"$'\x1f'"❤️ " | jq -r 'map(split("\u001f")[2])|join(",")')"
del rx alice "$m2" $((T + 2)) >/dev/null
checkerr "react deleted message" NOT_FOUND "$(react rx bob "$m2" 👍 1)"

echo "== pin"
checkerr "pin by a plain member" FORBIDDEN "$(pin rx carol "$m1" 1)"
checkerr "pin by a non-member" NOT_MEMBER "$(pin rx zed "$m1" 1)"
check "pin by the owner" "[1,1]" "$(pin rx alice "$m1" 1 | jq -c .)"
check "pin twice" "[0,1]" "$(pin rx alice "$m1" 1 | jq -c .)"
check "pin stored" "alice" "$(cli HGET "$(K rx):pins" "$m1" | jq -r .by)"
checkerr "pin deleted message" NOT_FOUND "$(pin rx alice "$m2" 1)"
m3=$(send rx bob "third" $((T + 3)) | jq -r '.[1]' | jq -r .id)
checkerr "pin past the limit" CONFLICT "$(pin rx alice "$m3" 1 1)"
subscribe "$(CH rx)" "$work/pin.out"
check "unpin" "[1,0]" "$(pin rx alice "$m1" 0 | jq -c .)"
unsubscribe
check "pin event" '{"ev":"pin","conv":"rx","id":"'"$m1"'","on":false,"by":"alice"}' "$(grep '^{' "$work/pin.out" | jq -c '{ev,conv,id,on,by}')"
check "unpin again" "[0,0]" "$(pin rx alice "$m1" 0 | jq -c .)"
create dx direct "" 0 alice $T alice bob >/dev/null
d1=$(send dx alice "hey" $T | jq -r '.[1]' | jq -r .id)
check "pin in a direct conversation (either side)" "[1,1]" "$(pin dx bob "$d1" 1 | jq -c .)"

echo "== delivered"
check "delivered moves" 2 "$(delivered rx bob 2)"
check "delivered only forward" 2 "$(delivered rx bob 1)"
check "delivered clamped" 3 "$(delivered rx bob 99)"
checkerr "delivered non-member" NOT_MEMBER "$(delivered rx zed 1)"
checkerr "delivered bad seq" INVALID "$(delivered rx bob -1)"
create rm room "Hall" 1 alice $T alice >/dev/null
send rm alice "hello" $T >/dev/null
subscribe "$(CH rm)" "$work/room.out"
check "delivered in a room" 1 "$(delivered rm alice 1)"
unsubscribe
check "delivered in a room publishes nothing" "" "$(grep '^{' "$work/room.out")"

echo "== mute"
check "mute" $((T + 5000)) "$(mute rx bob $((T + 5000)))"
check "mute stored" $((T + 5000)) "$(cli HGET "$(K rx):muted" bob)"
check "unmute" 0 "$(mute rx bob 0)"
check "unmute stored" "" "$(cli HGET "$(K rx):muted" bob)"
checkerr "mute non-member" NOT_MEMBER "$(mute rx zed $((T + 5000)))"
mute rx carol $((T + 5000)) >/dev/null

echo "== mention"
UK2() { printf '%suser:{%s}' "$P" "$1"; }
mention() { # USER ID
    run mention 3 "${P}notifs:{$1}" "${P}sockets:{$1}" "$(UK2 "$1")" '{"id":"'"$2"'","type":"mention"}' "$T" 100 3600 "$T" 7 "${P}live:user:{$1}" "$2"
}
check "mention offline: stored only" 0 "$(mention mo rx/1-1/mention)"
check "mention offline stored" 1 "$(cli ZCARD "${P}notifs:{mo}")"
cli ZADD "${P}sockets:{mn}" $((T + 60000)) n1/1 >/dev/null
subscribe "${P}live:user:{mn}" "$work/mention.out"
check "mention online: pushed" 1 "$(mention mn rx/1-2/mention)"
unsubscribe
check "mention online stored too" 1 "$(cli ZCARD "${P}notifs:{mn}")"
check "mention pushed event" "mention" "$(grep '^{' "$work/mention.out" | jq -r .notification.type)"
check "mention marked pushed" "rx/1-2/mention" "$(cli HGET "$(UK2 mn)" pushedNotification)"
checkerr "mention no argv" INVALID "$(run mention 3 "${P}notifs:{mo}" "${P}sockets:{mo}" "$(UK2 mo)")"

echo "== removing a member and deleting a conversation take the new keys along"
remove rx alice carol >/dev/null
check "removed member's mute dropped" "" "$(cli HGET "$(K rx):muted" carol)"
check "removed member's delivered pointer dropped" "" "$(cli HGET "$(K rx):delivered" carol)"
react rx bob "$m1" 👍 1 >/dev/null
pin rx alice "$m1" 1 >/dev/null
delconv rx alice >/dev/null
check "delete_conversation drops them" 0 "$(cli EXISTS "$(K rx):reactions" "$(K rx):reactors" "$(K rx):pins" "$(K rx):delivered" "$(K rx):muted")"
