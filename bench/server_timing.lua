-- wrk script: collects the gateway's `Server-Timing: fn;dur=<ms>` from every response and, at the end,
-- prints the mean function time beside wrk's mean latency (both in ms) and the request rate.
-- Output line: WRK requests=N errors=N duration_s=X rps=X latency_mean_ms=X fn_count=N fn_mean_ms=X

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    fn_sum = 0
    fn_count = 0
    bad = 0
end

function response(status, headers, body)
    if status ~= 200 then bad = bad + 1 end
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
    local sum, count, non200 = 0, 0, 0
    for _, thread in ipairs(threads) do
        sum = sum + thread:get("fn_sum")
        count = count + thread:get("fn_count")
        non200 = non200 + thread:get("bad")
    end
    local errors = summary.errors.connect + summary.errors.read + summary.errors.write
        + summary.errors.timeout + summary.errors.status
    local seconds = summary.duration / 1e6
    io.write(string.format(
        "WRK requests=%d errors=%d non200=%d duration_s=%.3f rps=%.1f latency_mean_ms=%.4f latency_p50_ms=%.4f fn_count=%d fn_mean_ms=%.4f\n",
        summary.requests, errors, non200, seconds, summary.requests / seconds, latency.mean / 1000,
        latency:percentile(50) / 1000, count, count > 0 and sum / count or 0))
end
