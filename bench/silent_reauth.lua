-- wrk script: silent re-authentication as auth0-spa-js does it, one chain per thread (run with -tN -cN):
-- GET /authorize?prompt=none&response_type=code&response_mode=query (PKCE S256) with the browser session's
-- cookie -> 302 to the callback with a code -> POST /oauth/token (authorization_code, code_verifier; a public
-- client) -> 200 with an access token and an ID token (two RS256 signatures). One re-authentication = both.
-- Anything else (a non-302 authorize, no code, a non-200 exchange) is counted, never hidden.
-- Args (after --): a file with one line "client_id redirect_uri verifier challenge cookie host".
-- Output line: WRK reauths=N requests=N bad=N duration_s=X reauth_per_s=X latency_mean_ms=X

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

local function urlencode(s)
    return (string.gsub(s, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
    local file = assert(io.open(args[1], "r"), "silent_reauth.lua: cannot open " .. tostring(args[1]))
    client_id, redirect_uri, verifier, challenge, cookie, host = string.match(file:read("*l"),
        "^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$")
    file:close()
    assert(host, "silent_reauth.lua: bad args file")
    authorize_path = "/authorize?response_type=code&response_mode=query&prompt=none&scope=openid%20profile%20email"
        .. "&client_id=" .. client_id .. "&redirect_uri=" .. urlencode(redirect_uri) .. "&state=bench"
        .. "&code_challenge=" .. challenge .. "&code_challenge_method=S256"
    get_headers = { ["Host"] = host, ["Cookie"] = "auth0=" .. cookie }
    post_headers = { ["Host"] = host, ["Content-Type"] = "application/x-www-form-urlencoded" }
    code, reauths, bad, first_bad = nil, 0, 0, ""
end

function request()
    if code then
        local body = "grant_type=authorization_code&client_id=" .. client_id .. "&code=" .. code
            .. "&code_verifier=" .. verifier .. "&redirect_uri=" .. urlencode(redirect_uri)
        return wrk.format("POST", "/oauth/token", post_headers, body)
    end
    return wrk.format("GET", authorize_path, get_headers)
end

local function note(status, body)
    if bad == 0 then first_bad = status .. " " .. string.sub(body or "", 1, 160) end
    bad = bad + 1
end

function response(status, headers, body)
    if code then
        code = nil
        if status == 200 and string.find(body, '"id_token"', 1, true) then reauths = reauths + 1 else note(status, body) end
        return
    end
    local location = headers["Location"] or headers["location"]
    local found = status == 302 and location and string.match(location, "[?&]code=([^&]+)")
    if found then code = found else note(status, (location or "") .. " " .. (body or "")) end
end

function done(summary, latency, requests)
    local total, failures, first = 0, 0, ""
    for _, thread in ipairs(threads) do
        total = total + thread:get("reauths")
        failures = failures + thread:get("bad")
        if first == "" then first = thread:get("first_bad") end
    end
    local seconds = summary.duration / 1e6
    io.write(string.format("WRK reauths=%d requests=%d bad=%d duration_s=%.3f reauth_per_s=%.1f latency_mean_ms=%.3f\n",
        total, summary.requests, failures, seconds, total / seconds, latency.mean / 1000))
    if first ~= "" then io.write("WRK-FIRST-BAD " .. first .. "\n") end
end
