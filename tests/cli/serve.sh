#!/bin/bash
# tests/cli/serve.sh - `lmmiqa serve` on 127.0.0.1 (an ephemeral port): scores
# equal `lmmiqa score` bit for bit (raw body and multipart), features and .npy
# equal `lmmiqa extract`, every error status (400, 404, 405, 413 for a large
# body and a decompression bomb, 415, 503 on a full queue, 504 on a timeout),
# 200 concurrent requests from 16 clients all answered right, a loop of
# malformed requests with the server healthy after, the counters in /metrics,
# the page driven by headless Chromium (scores equal the API, screenshot in
# <build>/test-output), and a graceful SIGTERM that finishes the request in
# flight and exits 0.
# Every wait and loop is bounded. Runs on generated images (no shared data).
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
if ! "$CLI" serve --help >/dev/null 2>&1; then
    echo "SKIP: this lmmiqa was built without libmicrohttpd (no serve command)"
    exit 77
fi
PY=$(command -v python3)
HC="$PY $(dirname "${BASH_SOURCE[0]}")/lib/http_client.py"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

start_server() { # name, args...: sets PORT_<name> and PID_<name>
    local name=$1
    shift
    rm -f "$TMP/port.$name"
    "$CLI" serve --listen 127.0.0.1:0 --port-file "$TMP/port.$name" "$@" 2>"$TMP/serve.$name.err" &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 600); do
        [ -s "$TMP/port.$name" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    eval "PORT_$name=\$(cat \"\$TMP/port.\$name\" 2>/dev/null)"
    eval "PID_$name=$pid"
}
wait_bounded() { # pid seconds: wait for a server to exit, kill -9 past the bound (rc 137)
    local pid=$1 n=$(($2 * 10))
    while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    wait "$pid"
}
status_of() { # method url [curl args...] -> prints the status code, body to $TMP/body
    local m=$1 u=$2
    shift 2
    curl -s -m 120 -o "$TMP/body" -w '%{http_code}' -X "$m" "$@" "$u"
}

"$LMMIQA_BINARY_DIR/gen_samples" "$TMP/img" --size 320x240 >/dev/null 2>&1
mapfile -t IMGS < <(ls "$TMP"/img/*.png "$TMP"/img/*.jpg | head -8)
check "sample images" test "${#IMGS[@]}" -eq 8
"$CLI" score --format json "${IMGS[@]}" >"$TMP/ref.json"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); json.dump({e["image"]: e["score"] for e in d["images"]}, open(sys.argv[2], "w"))' \
    "$TMP/ref.json" "$TMP/expected.json"

start_server main --threads 2 --max-body 3000000 --max-pixels 20000000
B=http://127.0.0.1:$PORT_main
check "server listening" test -n "$PORT_main"
check "healthz" test "$(status_of GET "$B/healthz")" = 200
check "models 200" test "$(status_of GET "$B/v1/models")" = 200
check "models names the built-in model" grep -q default-nss-livec "$TMP/body"
check "page served" test "$(status_of GET "$B/")" = 200
check "page is self-contained (no external URL)" sh -c "! grep -Eq '(src|href)=\"(https?:)?//' '$TMP/body'"

# Scores: one body per image, and multipart with all of them, equal the CLI's.
DIM=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["model"]["dim"])' "$TMP/ref.json")
all_equal=1
for img in "${IMGS[@]}"; do
    case "$img" in *.jpg) ct=image/jpeg ;; *) ct=image/png ;; esac
    code=$(status_of POST "$B/v1/score?features=1" --data-binary @"$img" -H "Content-Type: $ct")
    $PY - "$TMP/body" "$TMP/expected.json" "$img" "$DIM" <<'PYEOF' || all_equal=0
import json, sys
d = json.load(open(sys.argv[1])); want = json.load(open(sys.argv[2]))[sys.argv[3]]
e = d["images"][0]
assert e["score"] == want, (e["score"], want)
assert e["scale"] == {"min": 0, "max": 100, "higher_is_better": True}
assert len(e["features"]) == int(sys.argv[4]) and e["ms"] >= 0
PYEOF
    [ "$code" = 200 ] || all_equal=0
done
check "each image scored as by lmmiqa score, bit for bit" test $all_equal -eq 1
form=()
for img in "${IMGS[@]}"; do form+=(-F "file=@$img"); done
check "multipart 200" test "$(status_of POST "$B/v1/score" "${form[@]}")" = 200
check "multipart scores equal the CLI's" $PY -c '
import json, sys, os
d = json.load(open(sys.argv[1])); want = json.load(open(sys.argv[2]))
imgs = sys.argv[3:]
assert [e["name"] for e in d["images"]] == [os.path.basename(p) for p in imgs]
assert [e["score"] for e in d["images"]] == [want[p] for p in imgs]
' "$TMP/body" "$TMP/expected.json" "${IMGS[@]}"

# /v1/extract: JSON and .npy equal `lmmiqa extract`.
"$CLI" extract --extractor brisque --output "$TMP/ref.npy" "${IMGS[0]}" 2>/dev/null
curl -s -m 60 -o "$TMP/got.npy" -H 'Accept: application/x-npy' --data-binary @"${IMGS[0]}" \
    -H 'Content-Type: application/octet-stream' "$B/v1/extract?extractor=brisque"
check "extract .npy equals lmmiqa extract" cmp -s "$TMP/ref.npy" "$TMP/got.npy"
check "extract JSON 200" test "$(status_of POST "$B/v1/extract?extractor=brisque" --data-binary @"${IMGS[0]}" -H 'Content-Type: image/png')" = 200
check "extract JSON has 36 features" $PY -c 'import json,sys; assert len(json.load(open(sys.argv[1]))["images"][0]["features"]) == 36' "$TMP/body"

# Errors: status and a JSON error naming the problem.
printf 'GIF89a\x01\x00\x01\x00' >"$TMP/x.gif"
head -c 700 "${IMGS[0]}" >"$TMP/cut.png"
$HC bomb "$TMP/bomb.png"
head -c 3500000 /dev/zero >"$TMP/big.bin"
check "400 undecodable image" test "$(status_of POST "$B/v1/score" --data-binary @"$TMP/cut.png" -H 'Content-Type: image/png')" = 400
check "400 names its kind" grep -q undecodable_image "$TMP/body"
check "400 bytes that are no image" test "$(status_of POST "$B/v1/score" --data-binary 'xxxxxxxxxxxx' -H 'Content-Type: image/png')" = 400
check "415 unsupported image format" test "$(status_of POST "$B/v1/score" --data-binary @"$TMP/x.gif" -H 'Content-Type: image/gif')" = 415
check "415 unsupported content type" test "$(status_of POST "$B/v1/score" --data-binary 'hello' -H 'Content-Type: text/plain')" = 415
check "413 body over --max-body" test "$(status_of POST "$B/v1/score" --data-binary @"$TMP/big.bin" -H 'Content-Type: image/png')" = 413
check "413 decompression bomb refused" test "$(status_of POST "$B/v1/score" --data-binary @"$TMP/bomb.png" -H 'Content-Type: image/png')" = 413
check "413 bomb names the size" grep -q 60000 "$TMP/body"
check "400 empty body" test "$(status_of POST "$B/v1/score" -H 'Content-Type: image/png')" = 400
check "400 bad multipart" test "$(status_of POST "$B/v1/score" --data-binary 'xx' -H 'Content-Type: multipart/form-data; boundary=Q')" = 400
check "400 unknown extractor" test "$(status_of POST "$B/v1/extract?extractor=nosuch" --data-binary @"${IMGS[0]}")" = 400
check "404 unknown endpoint" test "$(status_of GET "$B/nosuch")" = 404
check "405 GET on /v1/score" test "$(status_of GET "$B/v1/score")" = 405

# 200 concurrent requests from 16 clients, every answer checked.
check "200 requests from 16 clients, all right" $HC concurrent "$PORT_main" 16 200 "$TMP/expected.json" "${IMGS[@]}"

# Malformed requests, then the server is still healthy and still exact.
check "malformed request loop" $HC malformed "$PORT_main" 20 60
check "healthy after the malformed loop" test "$(status_of GET "$B/healthz")" = 200
code=$(status_of POST "$B/v1/score" --data-binary @"${IMGS[1]}" -H 'Content-Type: image/png')
check "still scores exactly after the loop" $PY -c 'import json,sys; assert json.load(open(sys.argv[1]))["images"][0]["score"] == json.load(open(sys.argv[2]))[sys.argv[3]]' "$TMP/body" "$TMP/expected.json" "${IMGS[1]}"

# The counters.
status_of GET "$B/metrics" >/dev/null
check "metrics: requests by endpoint and code" grep -q 'lmmiqa_requests_total{endpoint="score",code="200"}' "$TMP/body"
check "metrics: errors by kind" grep -Eq 'lmmiqa_errors_total\{kind="too_large"\} [1-9]' "$TMP/body"
check "metrics: latency histogram" grep -q 'lmmiqa_request_duration_seconds_bucket{le="+Inf"}' "$TMP/body"
check "metrics: images and queue depth" sh -c "grep -q '^lmmiqa_images_total [1-9]' '$TMP/body' && grep -q '^lmmiqa_queue_depth ' '$TMP/body'"

# The page in headless Chromium: pick two images through the file input, wait
# for the scores, sort, compare with the API (exactly) and keep a screenshot.
OUTDIR=$LMMIQA_BINARY_DIR/test-output
mkdir -p "$OUTDIR"
$PY "$(dirname "${BASH_SOURCE[0]}")/lib/browser.py" "$B/" "$OUTDIR/serve_page.png" \
    "${IMGS[0]}" "${IMGS[5]}" >"$TMP/page.json" 2>"$TMP/page.err"
rc=$?
if [ $rc -eq 77 ]; then
    echo "SKIP (browser part only): $(cat "$TMP/page.err")"
else
    check "page in headless Chromium scores two images" test $rc -eq 0
    [ $rc -ne 0 ] && cat "$TMP/page.err"
    check "page scores equal the API's" $PY -c '
import json, os, sys
page = json.load(open(sys.argv[1]))
ref = {os.path.basename(k): v for k, v in json.load(open(sys.argv[2])).items()}
rows = page["rows"]
assert len(rows) == 2, rows
assert all(r["score"] == ref[r["name"]] for r in rows), (rows, ref)
assert page["sorted_desc"], rows
assert page["model"].startswith("Model default-nss-livec"), page["model"]
' "$TMP/page.json" "$TMP/expected.json"
    check "screenshot saved (test-output/serve_page.png)" sh -c "head -c 8 '$OUTDIR/serve_page.png' | grep -q PNG"
fi

# Graceful stop: a request in flight when SIGTERM arrives still gets its answer.
"$LMMIQA_BINARY_DIR/gen_samples" "$TMP/large" --size 1600x1200 >/dev/null 2>&1
LARGE=$(ls "$TMP"/large/*.png | head -1)
check "the in-flight image fits --max-body" test "$(stat -c %s "$LARGE")" -lt 3000000
$HC inflight "$PORT_main" "$PID_main" "$LARGE" >"$TMP/inflight.code"
wait_bounded "$PID_main" 120
rc=$?
check "SIGTERM: the request in flight is answered 200" test "$(cat "$TMP/inflight.code")" = 200
check "SIGTERM: exit 0 (no leak under ASan)" test $rc -eq 0
check "SIGTERM: stopped" grep -q stopped "$TMP/serve.main.err"

# A full queue answers 503; a wait past --timeout answers 504.
start_server busy --threads 1 --queue 0
burst() { # name port pid: 4 large requests at once, their status codes in $TMP/name.k
    for k in 1 2 3 4; do
        curl -s -m 120 -o /dev/null -w '%{http_code}\n' --data-binary @"$LARGE" \
            -H 'Content-Type: image/png' "http://127.0.0.1:$2/v1/score" >"$TMP/$1.$k" &
    done
    wait $(jobs -p | grep -v "^$3\$") 2>/dev/null
}
burst busy "$PORT_busy" "$PID_busy"
check "503 when every worker is busy and the queue is full" grep -qh 503 "$TMP"/busy.*
check "and some still 200" grep -qh 200 "$TMP"/busy.*
kill -TERM "$PID_busy"; wait_bounded "$PID_busy" 120
start_server slow --threads 1 --queue 8 --timeout 0.05
burst slow "$PORT_slow" "$PID_slow"
check "504 after waiting --timeout for a worker" grep -qh 504 "$TMP"/slow.*
kill -TERM "$PID_slow"; wait_bounded "$PID_slow" 120
check "serve --listen bad address is a usage error" sh -c "'$CLI' serve --listen nowhere >/dev/null 2>&1; test \$? -eq 2"
exit $fail
