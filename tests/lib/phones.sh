# tests/lib/phones.sh — real softphones (baresip 1.0.0, linphonec 5.1.x) as SIP peers.
#
# Source after common.sh (needs $T, tst_track, fail, tst_log):
#     . "$(dirname "$0")/../lib/common.sh"
#     . "$(dirname "$0")/../lib/phones.sh"
#     tst_init; tst_config <<<""; start_daemon sipd
#     phones_need baresip                     # skips (77) when a tool is missing
#     bs_start a 100 secret100 udp 440        # baresip "a" registers as 100, sends 440 Hz
#     lp_start b 101 secret101 udp 1000       # linphonec "b" registers as 101, auto-answers
#     phone_wait_registered a 10 || fail ...
#     phone_dial a 101
#     phone_wait_established a 10 && phone_wait_established b 10 || fail ...
#     sleep 3; phone_hangup a; phone_wait_ended b 10
#     read tx rx < <(phone_rtp a)            # RTP packets sent/received by the phone
#     phone_tone a                            # rough frequency (Hz) of what a heard
#     phones_stop_all                         # before stop_daemon sipd (pitfall 11)
#
# Also: phones_call_scenario (the whole register/call/audio/status/CDR check of t0501-t0506),
# bs_start_trunk (baresip as the provider at [sipd] trunk), phone_answer (PHONE_ANSWER=manual),
# phone_dial_uri, bs_trace (baresip's SIP trace, one line a message), sipd_ext /
# sipd_wait_state (sipd's `status`), cdr_find / cdr_wait / cdr_count (cdrd's cdr.query when
# the test started cdrd, else sipd's journal). tests/tools/phones-selftest.sh runs the same
# helpers against Kamailio, to tell a harness problem from a sipd one.
#
# Every phone NAME has a directory $T/phone-NAME with its config, out.log (stdout+stderr),
# for linphonec also linphonec.log (debug log with RTP statistics), and the recorded audio.
# Each phone gets a block of 20 free ports from 20000-29999: SIP on base (TCP+UDP),
# baresip's TLS on base+1 (it always binds sip_listen port + 1), RTP in base+10..base+19,
# so phones never collide with each other or with tst_config's ports (those are >= 30000);
# blocks are reserved across parallel test runs (phone_alloc_block).
# Processes run under `timeout -k 3 120` and are tracked with tst_track.
# The registrar is 127.0.0.1:$SIP_PORT unless PHONE_REGISTRAR=host:port is set.
# PHONE_IP=::1 (before starting phones) runs them over IPv6 loopback; the registrar is then
# [::1]:$SIP_PORT.
# Recipes and pitfalls: /work/shared/reference/softphones.md (copied rules are cited below).

declare -A PHONE_KIND PHONE_DIR PHONE_PID PHONE_FD PHONE_PORT PHONE_EXT PHONE_TRANSPORT
declare -A PHONE_LOGPOS
PHONE_RESERVED=""
PHONE_LOCKED=""
PHONE_LIFETIME=${PHONE_LIFETIME:-120}
# PHONE_ANSWER=manual before bs_start/lp_start: the phone rings and waits (phone_answer)
# instead of auto-answering.
PHONE_ANSWER=${PHONE_ANSWER:-auto}
PHONE_IP=${PHONE_IP:-127.0.0.1}
# PHONE_REGINT: registration expiry the phones ask for, in seconds (default 600).
PHONE_REGINT=${PHONE_REGINT:-600}

# _phone_host — PHONE_IP as it appears in a URI or host:port ([::1] for IPv6).
_phone_host() {
    case $PHONE_IP in *:*) echo "[$PHONE_IP]" ;; *) echo "$PHONE_IP" ;; esac
}

# phones_need baresip|linphonec ... — skip the test when a softphone or sox is missing.
# phones_start PHONE... — how a real-phone test begins: the test set up, the
# phones' programs needed (else skip), the default config, cdrd and sipd
# running.
phones_start() {
    tst_init
    phones_need "$@"
    tst_config </dev/null
    start_daemon cdrd
    start_daemon sipd
}

phones_need() {
    local t
    for t in "$@" sox stdbuf timeout; do
        command -v "$t" >/dev/null 2>&1 || skip "$t not installed (make deps)"
    done
    if [[ " $* " == *" baresip "* ]]; then
        [ -d /usr/lib/baresip/modules ] || skip "baresip modules missing (/usr/lib/baresip/modules)"
    fi
}

# phone_registrar — host:port of the PBX the phones register to.
phone_registrar() {
    echo "${PHONE_REGISTRAR:-$(_phone_host):${SIP_PORT:?tst_config not run}}"
}

# phone_alloc_block — set PHONE_BASE to a base port B with B..B+19 free (UDP and TCP on
# 127.0.0.1 and on PHONE_IP), and reserve it: test runs in parallel (run-tests.sh runs two at a time) could
# otherwise pick the same block, since RTP ports are bound only when a call starts. The
# reservation is a directory $PHONE_LOCKS/B holding the owner's PID (mkdir is atomic); a
# reservation whose owner is gone is taken over; ours are removed when the test exits.
PHONE_LOCKS=${PHONE_LOCKS:-/tmp/sipserver-phone-ports}
phone_alloc_block() {
    local base try owner
    _phones_trap
    mkdir -p "$PHONE_LOCKS" 2>/dev/null
    for ((try = 0; try < 20; try++)); do
        base=$($PY - "$PHONE_RESERVED" "$PHONE_IP" <<'PY'
import random, socket, sys
reserved = {int(x) for x in sys.argv[1].split()}
addrs = {"127.0.0.1", sys.argv[2]}
def free(port):
    for addr in addrs:
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(family, kind)
            try:
                s.bind((addr, port))
            except OSError:
                return False
            finally:
                s.close()
    return True
for _ in range(300):
    base = random.randrange(20000, 29980, 20)
    if base in reserved:
        continue
    if all(free(p) for p in range(base, base + 20)):
        print(base)
        sys.exit(0)
sys.exit("phones: no free block of 20 ports in 20000-29999")
PY
) || return 1
        if ! mkdir "$PHONE_LOCKS/$base" 2>/dev/null; then
            owner=$(cat "$PHONE_LOCKS/$base/pid" 2>/dev/null)
            if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then
                PHONE_RESERVED="$PHONE_RESERVED $base"   # someone else's: skip it
                continue
            fi
            rm -rf "$PHONE_LOCKS/$base"                  # stale: take it over
            mkdir "$PHONE_LOCKS/$base" 2>/dev/null || continue
        fi
        echo $$ > "$PHONE_LOCKS/$base/pid"
        PHONE_RESERVED="$PHONE_RESERVED $base"
        PHONE_LOCKED="$PHONE_LOCKED $base"
        PHONE_BASE=$base
        return 0
    done
    return 1
}

# _phones_unlock — drop this test's port reservations.
_phones_unlock() {
    local base
    for base in $PHONE_LOCKED; do
        [ "$(cat "$PHONE_LOCKS/$base/pid" 2>/dev/null)" = "$$" ] && rm -rf "$PHONE_LOCKS/$base"
    done
    PHONE_LOCKED=""
}

# _deadline SECONDS — print the wall-clock time (microseconds) SECONDS from now; _before T —
# true while that time has not come. Waits use these, not iteration counts, so a loaded
# machine does not stretch "10 s" into 30 (every loop is still capped in iterations).
_deadline() { echo $(( ${EPOCHREALTIME/./} + $1 * 1000000 )); }
_before() { [ "${EPOCHREALTIME/./}" -lt "$1" ]; }

# phone_tone_wav FILE HZ — 30 s, 8 kHz mono S16 sine (baresip's aufile and linphone's
# play file both need exactly this format; longer than any call, pitfall 10).
phone_tone_wav() {
    [ -f "$1" ] && return 0
    sox -n -r 8000 -c 1 -b 16 "$1" synth 30 sine "$2" vol 0.5 2>/dev/null
}

# _phone_procs NAME — the PIDs of the phone: its `timeout` wrapper and the phone under it.
_phone_procs() {
    local pid=${PHONE_PID[$1]:-}
    [ -n "$pid" ] || return 0
    echo "$pid" $(pgrep -P "$pid" 2>/dev/null)
}

# _phones_kill_all — SIGKILL every phone still running (and its wrapper). Runs from the EXIT
# trap before tst_cleanup: tst_cleanup's KILL would hit only the `timeout` wrapper, leaving
# the phone orphaned (baresip then lingers ~32 s retrying its unregister, pitfall 11).
_phones_kill_all() {
    local name
    for name in "${!PHONE_PID[@]}"; do
        kill -KILL $(_phone_procs "$name") 2>/dev/null
    done
}

# _phones_trap — once: on exit kill leftover phones and drop port reservations, then run
# common.sh's tst_cleanup.
_phones_trap() {
    [ -n "${_PHONES_TRAP:-}" ] && return 0
    trap '_phones_kill_all; _phones_unlock; tst_cleanup' EXIT
    _PHONES_TRAP=1
}

# Start the process of phone NAME: stdin from the FIFO $dir/ctl which we hold open
# read-write (so it never sees EOF and writes never block; pitfall 4).
_phone_spawn() {
    local name=$1 dir=$2
    shift 2
    local fd pid
    rm -f "$dir/ctl"
    mkfifo "$dir/ctl" || return 1
    exec {fd}<>"$dir/ctl"
    _phones_trap
    timeout -k 3 "$PHONE_LIFETIME" stdbuf -oL -eL "$@" <"$dir/ctl" >"$dir/out.log" 2>&1 {fd}>&- &
    pid=$!
    tst_track "$pid"
    PHONE_PID[$name]=$pid
    PHONE_FD[$name]=$fd
    PHONE_DIR[$name]=$dir
}

# bs_start NAME EXT PASSWORD [udp|tcp] [TONE_HZ] — start baresip registering as EXT,
# auto-answering, sending a sine of TONE_HZ (default 440) and recording what it hears.
bs_start() {
    local name=$1 ext=$2 pass=$3 transport=${4:-udp} hz=${5:-440}
    local dir=$T/phone-$name base reg attempt i end
    reg=$(phone_registrar)
    mkdir -p "$dir"
    phone_tone_wav "$dir/tone.wav" "$hz" || fail "phone $name: sox cannot write tone"
    # Up to 3 port blocks: a port checked free can still be taken before baresip binds it.
    for ((attempt = 1; attempt <= 3; attempt++)); do
        phone_alloc_block || fail "phone $name: no free ports"
        base=$PHONE_BASE
        cat > "$dir/config" <<CFG
poll_method		epoll
sip_listen		$(_phone_host):$base
net_interface		$PHONE_IP
call_local_timeout	60
call_max_calls		4
audio_player		aubridge,nil
audio_source		aufile,$dir/tone.wav
audio_alert		aubridge,nil
ausrc_srate		8000
auplay_srate		8000
ausrc_channels		1
auplay_channels		1
rtp_ports		$((base + 10))-$((base + 19))
rtcp_mux		no
rtp_stats		yes
module_path		/usr/lib/baresip/modules
module			stdio.so
module			g711.so
module			sndfile.so
module			aufile.so
module			aubridge.so
module_tmp		uuid.so
module_tmp		account.so
module_app		menu.so
snd_path		$dir
statmode_default	off
CFG
        : > "$dir/contacts"
        if [ -n "${PHONE_ACCOUNT:-}" ]; then   # a whole account line; @PORT@ = our SIP port
            printf '%s\n' "${PHONE_ACCOUNT//@PORT@/$base}" > "$dir/accounts"
        else
            printf '<sip:%s@%s;transport=%s>;auth_pass=%s;answermode=%s;regint=%s;mwi=no;pubint=0\n' \
                "$ext" "$reg" "$transport" "$pass" "$PHONE_ANSWER" "$PHONE_REGINT" > "$dir/accounts"
        fi
        PHONE_KIND[$name]=baresip
        PHONE_PORT[$name]=$base
        PHONE_EXT[$name]=$ext
        PHONE_TRANSPORT[$name]=$transport
        PHONE_LOGPOS[$name]=0
        # -s: SIP trace into out.log, the first thing to read when a call fails.
        local af=-4
        [[ $PHONE_IP == *:* ]] && af=-6
        _phone_spawn "$name" "$dir" baresip $af -s -f "$dir" || fail "phone $name: cannot start baresip"
        # Started: "baresip is ready". Failed to bind: "init failed (Address already in use)".
        end=$(_deadline 5)
        for ((i = 0; i < 50; i++)); do
            [ "$(phone_count "$name" 'baresip is ready|init failed')" -ge 1 ] && break
            phone_alive "$name" || break
            _before "$end" || break
            sleep 0.1
        done
        if [ "$(phone_count "$name" 'Address already in use')" -ge 1 ]; then
            tst_log "phone $name: port block $base taken meanwhile (attempt $attempt), trying another"
            phone_stop "$name" 2
            mv "$dir/out.log" "$dir/out.log.$attempt"
            continue
        fi
        tst_log "phone $name: baresip ext $ext/$transport sip $(_phone_host):$base rtp $((base + 10))-$((base + 19)) -> $reg"
        return 0
    done
    fail "phone $name: baresip could not bind its ports in 3 attempts"
}

# bs_start_trunk NAME NUMBER [TONE_HZ] — baresip as the SIP provider behind [sipd] trunk:
# no registration, no authentication, answers calls to NUMBER (baresip 1.0.0 answers 404 when
# the request-URI user is not its own) and calls out as NUMBER; sends TONE_HZ (default 700).
# Sets TRUNK_PEER=127.0.0.1:PORT; point sipd at it before starting sipd:
#     sed -i "s/^trunk = .*/trunk = $TRUNK_PEER/" "$CONF"
bs_start_trunk() {
    PHONE_REGISTRAR=127.0.0.1:0 \
    PHONE_ACCOUNT="<sip:$2@127.0.0.1:@PORT@;transport=udp>;regint=0;answermode=auto;mwi=no;pubint=0" \
        bs_start "$1" "$2" none udp "${3:-700}"
    TRUNK_PEER=127.0.0.1:${PHONE_PORT[$1]}
}

# phone_dial_uri NAME URI — call a full SIP URI.
phone_dial_uri() {
    case ${PHONE_KIND[$1]} in
    baresip) phone_cmd "$1" "/dial $2" ;;
    linphonec) phone_cmd "$1" "call $2" ;;
    esac
}

# lp_start NAME EXT PASSWORD [udp|tcp] [TONE_HZ] — start linphonec (auto-answer, files as
# sound card) registering as EXT, sending TONE_HZ (default 1000), recording to rec.wav.
lp_start() {
    local name=$1 ext=$2 pass=$3 transport=${4:-udp} hz=${5:-1000}
    local dir=$T/phone-$name base reg udp_port tcp_port
    reg=$(phone_registrar)
    phone_alloc_block || fail "phone $name: no free ports"
    base=$PHONE_BASE
    mkdir -p "$dir/.local/share/linphone"   # pitfall 3: no core without it
    phone_tone_wav "$dir/tone.wav" "$hz" || fail "phone $name: sox cannot write tone"
    if [ "$transport" = tcp ]; then udp_port=0; tcp_port=$base; else udp_port=$base; tcp_port=0; fi
    # Regenerated for every start: linphonec rewrites it on exit (pitfall 6).
    cat > "$dir/linphonerc" <<RC
[sip]
sip_port=$udp_port
sip_tcp_port=$tcp_port
sip_tls_port=0
bind_address=$PHONE_IP
default_proxy=0
ipv6_enabled=$([[ $PHONE_IP == *:* ]] && echo 1 || echo 0)
register_only_when_network_is_up=0
[rtp]
bind_address=$PHONE_IP
audio_rtp_port=$((base + 10))-$((base + 15))
video_rtp_port=$((base + 16))-$((base + 18))
text_rtp_port=$((base + 19))
[sound]
echocancellation=0
hold_music=$dir/tone.wav
[video]
enabled=0
capture=0
display=0
[proxy_0]
reg_proxy=<sip:$reg;transport=$transport>
reg_identity=sip:$ext@$reg
reg_expires=$PHONE_REGINT
reg_sendregister=1
publish=0
[auth_info_0]
username=$ext
passwd=$pass
[audio_codec_0]
mime=PCMU
rate=8000
channels=1
enabled=1
[audio_codec_1]
mime=PCMA
rate=8000
channels=1
enabled=1
[audio_codec_2]
mime=opus
rate=48000
channels=2
enabled=0
[audio_codec_3]
mime=speex
rate=16000
channels=1
enabled=0
[audio_codec_4]
mime=speex
rate=8000
channels=1
enabled=0
[audio_codec_5]
mime=G729
rate=8000
channels=1
enabled=0
RC
    PHONE_KIND[$name]=linphonec
    PHONE_PORT[$name]=$base
    PHONE_EXT[$name]=$ext
    PHONE_TRANSPORT[$name]=$transport
    PHONE_LOGPOS[$name]=0
    local auto=-a
    [ "$PHONE_ANSWER" = auto ] || auto=
    _phone_spawn "$name" "$dir" env HOME="$dir" linphonec -c "$dir/linphonerc" $auto -d 6 \
        -l "$dir/linphonec.log" || fail "phone $name: cannot start linphonec"
    phone_cmd "$name" "soundcard use files"
    phone_cmd "$name" "record $dir/rec.wav"
    tst_log "phone $name: linphonec ext $ext/$transport sip $(_phone_host):$base rtp $((base + 10))-$((base + 15)) -> $reg"
}

# phone_cmd NAME LINE — type one command line into the phone.
phone_cmd() {
    local fd=${PHONE_FD[$1]:?no phone $1}
    printf '%s\n' "$2" >&"$fd"
}

# phone_count NAME REGEX — number of out.log lines matching the extended regex.
phone_count() {
    local n
    n=$(grep -Eac -- "$2" "${PHONE_DIR[$1]}/out.log" 2>/dev/null) || true
    echo "${n:-0}"
}

# phone_alive NAME — the phone process still runs.
phone_alive() { kill -0 "${PHONE_PID[$1]}" 2>/dev/null; }

# phone_wait NAME SECONDS REGEX [COUNT] — until out.log has COUNT (default 1) matching lines;
# fails early when the phone has exited.
phone_wait() {
    local name=$1 limit=$2 re=$3 count=${4:-1} i end
    end=$(_deadline "$limit")
    for ((i = 0; i < limit * 10; i++)); do
        [ "$(phone_count "$name" "$re")" -ge "$count" ] && return 0
        phone_alive "$name" || { tst_log "phone $name: exited while waiting for /$re/"; return 1; }
        _before "$end" || break
        sleep 0.1
    done
    tst_log "phone $name: no /$re/ (x$count) within ${limit}s"
    return 1
}

# phone_wait_registered NAME SECONDS — until the phone says it is registered.
phone_wait_registered() {
    local name=$1 limit=$2 i end
    end=$(_deadline "$limit")
    case ${PHONE_KIND[$name]} in
    baresip)
        phone_wait "$name" "$limit" 'useragent registered successfully|\{0/(UDP|TCP)/v[46]\} 200 OK'
        ;;
    linphonec)
        # linphonec prints nothing when it registers: ask every 0.5 s (pitfall: no ^ anchors).
        for ((i = 0; i < limit * 2; i++)); do
            phone_cmd "$name" "status register"
            sleep 0.5
            [ "$(phone_count "$name" 'registered, identity=')" -ge 1 ] && return 0
            phone_alive "$name" || { tst_log "phone $name: exited before registering"; return 1; }
            # Wrong password: linphonec prompts and eats the next line (pitfall 5).
            if [ "$(phone_count "$name" 'Password for ')" -ge 1 ]; then
                tst_log "phone $name: linphonec asks for a password (authentication rejected)"
                return 1
            fi
            _before "$end" || break
        done
        tst_log "phone $name: not registered within ${limit}s"
        return 1
        ;;
    esac
}

# phone_dial NAME EXT — call EXT at the registrar (over the phone's transport).
phone_dial() {
    local name=$1 ext=$2 reg
    reg=$(phone_registrar)
    case ${PHONE_KIND[$name]} in
    baresip) phone_cmd "$name" "/dial $ext" ;;
    linphonec) phone_cmd "$name" "call sip:$ext@$reg;transport=${PHONE_TRANSPORT[$name]}" ;;
    esac
}

# phone_hangup NAME — hang up the current call.
phone_hangup() {
    case ${PHONE_KIND[$1]} in
    baresip) phone_cmd "$1" "/hangup" ;;
    linphonec) phone_cmd "$1" "terminate" ;;
    esac
}

# phone_answer NAME — answer the ringing call (phones started with PHONE_ANSWER=manual).
phone_answer() {
    case ${PHONE_KIND[$1]} in
    baresip) phone_cmd "$1" "/accept" ;;
    linphonec) phone_cmd "$1" "answer" ;;
    esac
}

# phone_wait_incoming NAME SECONDS — the phone saw an incoming call (and auto-answers it).
phone_wait_incoming() {
    case ${PHONE_KIND[$1]} in
    baresip) phone_wait "$1" "$2" 'Incoming call from|answering call on line' ;;
    linphonec) phone_wait "$1" "$2" 'Receiving new incoming call from' ;;
    esac
}

# phone_wait_established NAME SECONDS [COUNT] — COUNT calls established (default 1).
phone_wait_established() {
    case ${PHONE_KIND[$1]} in
    baresip) phone_wait "$1" "$2" 'Call established: sip:' "${3:-1}" ;;
    linphonec) phone_wait "$1" "$2" 'Call [0-9]+ with .*connected\.' "${3:-1}" ;;
    esac
}

# phone_wait_ended NAME SECONDS [COUNT] — COUNT calls ended (default 1).
phone_wait_ended() {
    case ${PHONE_KIND[$1]} in
    baresip) phone_wait "$1" "$2" 'terminated \(duration: ' "${3:-1}" ;;
    linphonec) phone_wait "$1" "$2" 'Call [0-9]+ with .* (ended|error)' "${3:-1}" ;;
    esac
}

# phone_rtp NAME — print "SENT RECEIVED" audio RTP packet counts of the last ended call
# (baresip: rtp_stats "packets:" row; linphonec: AUDIO SESSION'S RTP STATISTICS in its log).
# Prints nothing (status 1) when there are no statistics yet.
phone_rtp() {
    local name=$1 dir=${PHONE_DIR[$1]} out
    case ${PHONE_KIND[$name]} in
    baresip)
        out=$(grep -a -E '^[[:space:]]*packets:[[:space:]]+[0-9]+[[:space:]]+[0-9]+' "$dir/out.log" \
            | tail -n 1 | awk '{print $2, $3}')
        ;;
    linphonec)
        # Lines look like "<date> ortp-message-sent      156 packets"; keep the last block.
        out=$(awk '/AUDIO SESSION.S RTP STATISTICS/ {s = ""; r = ""; on = 1; next}
                   on && /-message-sent[[:space:]]+[0-9]+ packets/ && s == "" {
                       sub(/.*-message-sent[[:space:]]+/, ""); s = $1 }
                   on && /-message-received[[:space:]]+[0-9]+ packets/ && r == "" {
                       sub(/.*-message-received[[:space:]]+/, ""); r = $1 }
                   END { if (s != "" && r != "") print s, r }' "$dir/linphonec.log" 2>/dev/null)
        ;;
    esac
    [ -n "$out" ] || return 1
    echo "$out"
}

# phone_wait_rtp NAME SECONDS — until phone_rtp has numbers (they are printed after hang-up).
phone_wait_rtp() {
    local i end
    end=$(_deadline "$2")
    for ((i = 0; i < $2 * 10; i++)); do
        phone_rtp "$1" >/dev/null && return 0
        _before "$end" || break
        sleep 0.1
    done
    tst_log "phone $1: no RTP statistics within $2 s"
    return 1
}

# bs_trace NAME — baresip's SIP trace (-s) as one line per message:
# "in|out START-LINE [sendrecv|sendonly|recvonly|inactive]" ("in" = sent by the registrar
# to the phone; the SDP direction attribute when the message has one).
bs_trace() {
    local reg
    reg=$(phone_registrar)
    awk -v reg="$reg" '
        function flush() { if (start != "") print dir, start, sdp; start = ""; sdp = "" }
        { sub(/\r$/, "") }
        /^(UDP|TCP|TLS) [^ ]+ -> [^ ]+$/ { flush(); dir = ($2 == reg) ? "in" : "out"; want = 1; next }
        want { start = $0; want = 0; next }
        /^\033\[;m/ { flush(); next }
        start != "" && /^a=(sendrecv|sendonly|recvonly|inactive)$/ { sdp = substr($0, 3) }
        END { flush() }' "${PHONE_DIR[$1]}/out.log"
}

# phone_recording NAME — path of the WAV with what the phone heard (last call).
phone_recording() {
    local dir=${PHONE_DIR[$1]}
    case ${PHONE_KIND[$1]} in
    baresip) ls -t "$dir"/dump-*-dec.wav 2>/dev/null | head -n 1 ;;
    linphonec) [ -f "$dir/rec.wav" ] && echo "$dir/rec.wav" ;;
    esac
}

# phone_tone NAME [LAST_SECONDS] — "FREQ RMS" of what the phone heard (sox stat: rough
# frequency in Hz, RMS amplitude), of the whole recording or of its last seconds (the final
# 0.2 s, where the hang-up may cut in, are left out); status 1 without a recording.
phone_tone() {
    local wav st len trim=()
    wav=$(phone_recording "$1")
    [ -n "$wav" ] && [ -s "$wav" ] || { tst_log "phone $1: no recording"; return 1; }
    if [ -n "${2:-}" ]; then
        len=$(soxi -D "$wav" 2>/dev/null) || { tst_log "phone $1: soxi failed on $wav"; return 1; }
        trim=(trim "$(awk -v l="$len" -v n="$2" 'BEGIN { s = l - n - 0.2; print (s < 0 ? 0 : s) }')" "$2")
    fi
    st=$(sox "$wav" -n "${trim[@]}" stat 2>&1) || { tst_log "phone $1: sox stat failed on $wav"; return 1; }
    awk -F: '/Rough[[:space:]]+frequency/ {gsub(/ /, "", $2); f = $2}
             /RMS[[:space:]]+amplitude/ {gsub(/ /, "", $2); r = $2}
             END { if (f == "") exit 1; print f, r }' <<<"$st"
}

# phone_stop NAME [SECONDS] — quit cleanly (unregisters), then TERM, then KILL.
# Stop phones before the PBX: baresip takes ~32 s to exit when the PBX is gone (pitfall 11).
phone_stop() {
    local name=$1 limit=${2:-5} pid i fd end
    pid=${PHONE_PID[$name]:-}
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        case ${PHONE_KIND[$name]} in
        baresip) phone_cmd "$name" "/quit" ;;
        linphonec) phone_cmd "$name" "quit" ;;
        esac
        end=$(_deadline "$limit")
        for ((i = 0; i < limit * 10; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            _before "$end" || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            tst_log "phone $name: did not quit within ${limit}s, sending TERM"
            kill -TERM "$pid" 2>/dev/null   # timeout passes it on to the phone
            sleep 1
            kill -TERM "$pid" 2>/dev/null   # baresip: second TERM exits at once
            sleep 0.5
            kill -KILL $(_phone_procs "$name") 2>/dev/null
        fi
    fi
    wait "$pid" 2>/dev/null
    fd=${PHONE_FD[$name]}
    [ -n "$fd" ] && exec {fd}>&-
    PHONE_PID[$name]=
    PHONE_FD[$name]=
}

# phones_stop_all — stop every phone (in parallel-safe order: one after another).
phones_stop_all() {
    local name
    for name in "${!PHONE_PID[@]}"; do
        phone_stop "$name"
    done
}

# phone_dump NAME — print the tail of the phone's output (for failure analysis).
phone_dump() {
    local dir=${PHONE_DIR[$1]}
    printf -- '--- phone %s (%s) out.log, last 60 lines\n' "$1" "${PHONE_KIND[$1]}" >&2
    tail -n 60 "$dir/out.log" >&2
}

# phones_fail MESSAGE — fail after printing every phone's output tail.
phones_fail() {
    local name
    for name in "${!PHONE_DIR[@]}"; do
        phone_dump "$name"
    done
    fail "$*"
}

# ---- sipd's view of the phones (needs common.sh's ipc, $DATA_DIR) -------------------------

# sipd_ext NUMBER — one line "state|user_agent|transport|contacts|expires_in" for the
# extension from sipd's `status` control request (first contact's fields; empty when none).
# Status 1 when sipd does not answer or does not list the extension.
sipd_ext() {
    local reply
    reply=$(ipc sipd status "{\"number\":\"$1\"}" 2>/dev/null) || return 1
    $PY -c '
import json, sys
number, reply = sys.argv[1], sys.argv[2]
kind, _, body = reply.partition(" ")
if kind != "status":
    sys.exit(1)
for ext in json.loads(body).get("extensions", []):
    if str(ext.get("number")) == number:
        cs = ext.get("contacts") or [{}]
        c = cs[0] if ext.get("contacts") else {}
        print("|".join(str(x) for x in (ext.get("state", ""), c.get("user_agent", ""),
              c.get("transport", ""), len(ext.get("contacts") or []), c.get("expires_in", ""))))
        sys.exit(0)
sys.exit(1)' "$1" "$reply"
}

# sipd_ext_state NUMBER — just the state (offline, idle, ringing, busy).
sipd_ext_state() {
    local line
    line=$(sipd_ext "$1") || return 1
    echo "${line%%|*}"
}

# sipd_wait_state NUMBER STATE SECONDS — until sipd's status shows the extension in STATE.
sipd_wait_state() {
    local i st end
    end=$(_deadline "$3")
    for ((i = 0; i < $3 * 10; i++)); do
        st=$(sipd_ext_state "$1") && [ "$st" = "$2" ] && return 0
        _before "$end" || break
        sleep 0.1
    done
    tst_log "sipd status: $1 is '${st:-?}', not '$2' after $3 s"
    return 1
}

# cdr_journal SRC DST [KEY] — print, as key=value lines, the last CDR from SRC to DST (or
# whose KEY, e.g. dialed, is DST) in sipd's journal (data_dir/spool/cdr-*.journal, "C <json>"
# lines; see sipd/sipd_journal.h). Only without cdrd: once cdrd acks a CDR the journal is
# compacted and the line is gone. With COUNT=1 in the environment: print how many match.
cdr_journal() {
    $PY - "$DATA_DIR/spool" "$1" "$2" "${3:-dst}" <<'PY'
import glob, json, os, sys
spool, src, dst, key = sys.argv[1:5]
found = []
for path in sorted(glob.glob(os.path.join(spool, "cdr-*.journal"))):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("C "):
                continue
            try:
                cdr = json.loads(line[2:])
            except ValueError:
                continue
            if str(cdr.get("src")) == src and str(cdr.get(key)) == dst:
                found.append(cdr)
if os.environ.get("COUNT"):
    print(len(found))
    sys.exit(0)
if not found:
    sys.exit(1)
for k, v in found[-1].items():
    print("%s=%s" % (k, "" if v is None else v))
PY
}

# cdr_query SRC DST [KEY] — the same, read back from cdrd (`cdr.query`, rows ordered by
# start_time): what cdrd stored after sipd's journal delivered it.
cdr_query() {
    local reply
    reply=$(ipc cdrd cdr.query "{\"src\":\"$1\",\"limit\":500}" 2>/dev/null) || return 1
    $PY - "$1" "$2" "${3:-dst}" "$reply" <<'PY'
import json, os, sys
src, dst, key, reply = sys.argv[1:5]
kind, _, body = reply.partition(" ")
if kind != "cdr.rows":
    sys.exit(1)
found = [r for r in json.loads(body).get("rows", [])
         if str(r.get("src")) == src and str(r.get(key)) == dst]
if os.environ.get("COUNT"):
    print(len(found))
    sys.exit(0)
if not found:
    sys.exit(1)
for k, v in found[-1].items():
    print("%s=%s" % (k, "" if v is None else v))
PY
}

# cdr_source — "cdrd" when the test started cdrd (start_daemon cdrd), else "journal".
cdr_source() {
    if [ -f "$T/cdrd.pid" ] && kill -0 "$(cat "$T/cdrd.pid")" 2>/dev/null; then
        echo cdrd
    else
        echo journal
    fi
}

# cdr_find SRC DST [KEY] — cdr_query or cdr_journal, per cdr_source.
cdr_find() {
    if [ "$(cdr_source)" = cdrd ]; then
        cdr_query "$@"
    else
        cdr_journal "$@"
    fi
}

# cdr_count SRC DST [KEY] — how many CDRs match (cdrd or journal, as cdr_find).
cdr_count() { COUNT=1 cdr_find "$@"; }

# cdr_wait SRC DST SECONDS [KEY] — until cdr_find finds the record; prints it.
cdr_wait() {
    local i end
    end=$(_deadline "$3")
    for ((i = 0; i < $3 * 10; i++)); do
        cdr_find "$1" "$2" "${4:-dst}" && return 0
        _before "$end" || break
        sleep 0.1
    done
    tst_log "no CDR $1 -> $2 in $(cdr_source) within $3 s"
    return 1
}

# cdr_field CDR_TEXT KEY — the value of KEY in cdr_journal's output.
cdr_field() {
    sed -n "s/^$2=//p" <<<"$1" | head -n 1
}

# ---- the real-call scenario shared by the t05xx call tests -------------------------------

# _phone_start KIND NAME EXT TRANSPORT HZ — bs_start or lp_start with the tst_config password.
_phone_start() {
    case $1 in
    baresip) bs_start "$2" "$3" "secret$3" "$4" "$5" ;;
    linphonec) lp_start "$2" "$3" "secret$3" "$4" "$5" ;;
    *) fail "unknown phone kind $1" ;;
    esac
}

# phones_call_scenario CALLER_KIND CALLEE_KIND TRANSPORT [HANGUP_BY] — with sipd running:
# the caller registers as 100 (sends 440 Hz), the callee as 101 (sends 1000 Hz,
# auto-answers); 100 dials 101; both report the call established; sipd shows both busy;
# after ~3 s HANGUP_BY (caller, the default, or callee) hangs up; each phone sent and
# received >= 100 RTP packets and heard the other's tone; both are idle again; the CDR
# (cdr_find: from cdrd when the test started it, else sipd's journal) says ANSWERED, sip_code 200, billsec >= 2, cause 16, released_by HANGUP_BY,
# direction internal, fci callTag=..;cause=16. Fails the test otherwise.
phones_call_scenario() {
    local ck=$1 ek=$2 tr=$3 by=${4:-caller} line cdr v other
    _phone_start "$ck" caller 100 "$tr" 440
    _phone_start "$ek" callee 101 "$tr" 1000
    phone_wait_registered caller 10 || phones_fail "caller ($ck/$tr) did not register as 100"
    phone_wait_registered callee 10 || phones_fail "callee ($ek/$tr) did not register as 101"
    sipd_wait_state 100 idle 5 || phones_fail "sipd status: 100 not idle after registering"
    sipd_wait_state 101 idle 5 || phones_fail "sipd status: 101 not idle after registering"
    tst_log "ok - both phones registered, sipd shows 100 and 101 idle"

    phone_dial caller 101
    phone_wait_incoming callee 10 || phones_fail "callee: no incoming call from sipd"
    phone_wait_established caller 10 || phones_fail "caller: call not established"
    phone_wait_established callee 10 || phones_fail "callee: call not established"
    tst_log "ok - call established on both phones"
    sipd_wait_state 100 busy 3 || phones_fail "sipd status: caller 100 not busy during the call"
    sipd_wait_state 101 busy 3 || phones_fail "sipd status: callee 101 not busy during the call"
    tst_log "ok - sipd shows 100 and 101 busy"
    sleep 3
    if [ "$by" = caller ]; then other=callee; else other=caller; fi
    phone_hangup "$by"
    phone_wait_ended "$by" 10 || phones_fail "$by: call did not end after hang-up"
    phone_wait_ended "$other" 10 || phones_fail "$other: BYE from sipd did not end the call"
    tst_log "ok - $by hung up, the call ended on both phones"

    local who tx rx f rms lo hi
    for who in caller callee; do
        phone_wait_rtp "$who" 5 || phones_fail "$who: no RTP statistics after hang-up"
        read -r tx rx < <(phone_rtp "$who")
        tst_log "$who: RTP sent $tx received $rx"
        [ "$tx" -ge 100 ] || phones_fail "$who sent only $tx RTP packets in ~3 s (want >= 100)"
        [ "$rx" -ge 100 ] || phones_fail "$who received only $rx RTP packets in ~3 s (want >= 100)"
        if [ "$who" = caller ]; then lo=900 hi=1100; else lo=380 hi=500; fi
        read -r f rms < <(phone_tone "$who") || phones_fail "$who: no recording of the far end"
        tst_log "$who heard ${f} Hz, RMS $rms"
        [ "${f:-0}" -ge "$lo" ] && [ "${f:-0}" -le "$hi" ] \
            || phones_fail "$who heard ${f} Hz, not the far end's tone ($lo-$hi Hz)"
        awk -v r="$rms" 'BEGIN { exit !(r > 0.1) }' || phones_fail "$who heard near silence (RMS $rms)"
    done
    # Media flows phone to phone: what one sent, the other received (25 packets, 0.5 s, may
    # be in flight at hang-up). A wrong address or port in sipd's rewritten SDP breaks this.
    local ctx crx etx erx
    read -r ctx crx < <(phone_rtp caller)
    read -r etx erx < <(phone_rtp callee)
    [ "$erx" -ge $((ctx - 25)) ] || phones_fail "caller sent $ctx RTP packets, callee received $erx"
    [ "$crx" -ge $((etx - 25)) ] || phones_fail "callee sent $etx RTP packets, caller received $crx"
    tst_log "ok - audio both ways: >= 100 RTP packets, none lost, the far end's tone on each side"
    sipd_wait_state 100 idle 5 || phones_fail "sipd status: 100 not idle after the call"
    sipd_wait_state 101 idle 5 || phones_fail "sipd status: 101 not idle after the call"

    cdr=$(cdr_wait 100 101 5) || phones_fail "no CDR for 100 -> 101"
    tst_log "CDR from $(cdr_source): $(tr '\n' ' ' <<<"$cdr")"
    for line in disposition=ANSWERED sip_code=200 cause=16 released_by=$by \
                direction=internal dialed=101; do
        v=$(cdr_field "$cdr" "${line%%=*}")
        [ "$v" = "${line#*=}" ] || phones_fail "CDR ${line%%=*} is '$v', want '${line#*=}'"
    done
    v=$(cdr_field "$cdr" billsec)
    [ "${v:-0}" -ge 2 ] && [ "${v:-0}" -le 20 ] || phones_fail "CDR billsec is '$v', want 2..20"
    v=$(cdr_field "$cdr" duration)
    [ "${v:-0}" -ge "$(cdr_field "$cdr" billsec)" ] || phones_fail "CDR duration '$v' < billsec"
    [ -n "$(cdr_field "$cdr" answer_time)" ] || phones_fail "CDR answer_time empty"
    v=$(cdr_field "$cdr" fci)
    [[ $v == "callTag=$(cdr_field "$cdr" call_tag);cause=16"* ]] || phones_fail "CDR fci '$v'"
    tst_log "ok - CDR: ANSWERED, 200, billsec $(cdr_field "$cdr" billsec), cause 16, released_by $by"
    phones_stop_all
}
