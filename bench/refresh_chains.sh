# Shared by token_refresh.sh and postgres_refresh.sh (sourced after lib.sh): the request bodies of a
# password-realm login and a refresh grant, and the token chains wrk follows (refresh_grant.lua).
# Expects $email, $password and $tmp to be set by the sourcing script.

bench_app_credentials() { jq -r '.app.client_id + " " + .app.client_secret' "$1"; }

bench_login_body() {
    jq -nc --arg c "$1" --arg s "$2" --arg u "$email" --arg p "$password" '{
        grant_type: "http://auth0.com/oauth/grant-type/password-realm", realm: "Username-Password-Authentication",
        username: $u, password: $p, scope: "openid offline_access", client_id: $c, client_secret: $s}'
}

bench_refresh_body() {
    jq -nc --arg c "$1" --arg s "$2" --arg r "$3" '{grant_type: "refresh_token", refresh_token: $r, client_id: $c, client_secret: $s}'
}

# bench_token_chains INIT_JSON HOST N OUT: writes "client_id client_secret host", then N fresh refresh tokens, each
# minted by a login through HOST and warmed by 10 refreshes there (every worker has served the route before wrk
# starts). The last answer stays in $tmp/body. Exits 1 on any answer that is not 200 with a new refresh token.
bench_token_chains() {
    local init="$1" host="$2" n="$3" out="$4" cid secret code rt i
    read -r cid secret < <(bench_app_credentials "$init")
    local url="http://$host/oauth/token"
    post() { curl -s -o "$tmp/body" -w '%{http_code}' --max-time 30 -H 'content-type: application/json' --data-binary "$1" "$url" || true; }
    printf '%s %s %s\n' "$cid" "$secret" "$host" >"$out"
    for _ in $(seq 1 "$n"); do
        code="$(post "$(bench_login_body "$cid" "$secret")")"
        rt="$(jq -r '.refresh_token // empty' "$tmp/body" 2>/dev/null || true)"
        [[ "$code" == 200 && -n "$rt" ]] || { echo "bench: login through $host got HTTP $code: $(head -c 300 "$tmp/body")" >&2; exit 1; }
        for i in $(seq 1 10); do
            code="$(post "$(bench_refresh_body "$cid" "$secret" "$rt")")"
            rt="$(jq -r '.refresh_token // empty' "$tmp/body" 2>/dev/null || true)"
            [[ "$code" == 200 && -n "$rt" ]] || { echo "bench: warm-up refresh through $host got HTTP $code: $(head -c 300 "$tmp/body")" >&2; exit 1; }
        done
        echo "$rt" >>"$out"
    done
}
