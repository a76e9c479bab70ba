-- wrk script: POST /oauth/token refresh grants, one refresh-token chain per thread (run with -tN -cN, so
-- each thread has one connection and sends its next request only after the previous answer). Refresh tokens
-- rotate on every use, so `response()` takes the new `refresh_token` from the body and `request()` sends it.
-- A non-200 breaks the chain (every later request would reuse a rotated token): counted, never hidden.
-- Args (after --): a file whose first line is "client_id client_secret host" and whose next lines are one
-- fresh refresh token per thread. Also collects the gateway's `Server-Timing: fn;dur=<ms>`.
-- Output line: WRK requests=N errors=N non200=N rotated=N duration_s=X rps=X latency_mean_ms=X
--              latency_p50_ms=X latency_p99_ms=X fn_count=N fn_mean_ms=X

local threads = {}
local next_id = 0

function setup(thread)
    next_id = next_id + 1
    thread:set("id", next_id)
    table.insert(threads, thread)
end

function init(args)
    local file = assert(io.open(args[1], "r"), "refresh_grant.lua: cannot open " .. tostring(args[1]))
    local header = file:read("*l")
    client_id, client_secret, host = string.match(header, "^(%S+) (%S+) (%S+)$")
    local id = wrk.thread:get("id")
    for _ = 1, id do token = file:read("*l") end
    file:close()
    assert(client_id and token and #token > 0, "refresh_grant.lua: no token for thread " .. id)
    fn_sum, fn_count, bad, rotated, first_bad = 0, 0, 0, 0, ""
    headers = { ["Content-Type"] = "application/json", ["Host"] = host }
end

function request()
    -- Tokens and client credentials are URL-safe base64 / ids: nothing to escape in JSON.
    local body = '{"grant_type":"refresh_token","client_id":"' .. client_id .. '","client_secret":"'
        .. client_secret .. '","refresh_token":"' .. token .. '"}'
    return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
    if status == 200 then
        local fresh = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
        if fresh then
            token = fresh
            rotated = rotated + 1
        else
            bad = bad + 1
        end
    else
        if bad == 0 then first_bad = status .. " " .. string.sub(body or "", 1, 160) end
        bad = bad + 1
    end
    local timing = headers["Server-Timing"] or headers["server-timing"]
    if timing == nil then
        for name, value in pairs(headers) do
            if string.lower(name) == "server-timing" then timing = value end
        end
    end
    local dur = timing and tonumber(string.match(timing, "fn;dur=([%d%.]+)"))
    if dur then
        fn_sum = fn_sum + dur
        fn_count = fn_count + 1
    end
end

function done(summary, latency, requests)
    local sum, count, non200, ok = 0, 0, 0, 0
    for _, thread in ipairs(threads) do
        sum = sum + thread:get("fn_sum")
        count = count + thread:get("fn_count")
        non200 = non200 + thread:get("bad")
        ok = ok + thread:get("rotated")
        local first = thread:get("first_bad")
        if first ~= "" then io.write("thread " .. thread:get("id") .. " first failure: " .. first .. "\n") end
    end
    local errors = summary.errors.connect + summary.errors.read + summary.errors.write
        + summary.errors.timeout + summary.errors.status
    local seconds = summary.duration / 1e6
    io.write(string.format(
        "WRK requests=%d errors=%d non200=%d rotated=%d duration_s=%.3f rps=%.1f latency_mean_ms=%.4f latency_p50_ms=%.4f latency_p99_ms=%.4f fn_count=%d fn_mean_ms=%.4f\n",
        summary.requests, errors, non200, ok, seconds, summary.requests / seconds, latency.mean / 1000,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, count, count > 0 and sum / count or 0))
end
