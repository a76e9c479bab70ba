-- wrk script: the same password-realm login (POST /oauth/token, JSON body from the file named after --) on every
-- request. A non-200 is counted, never hidden. Output line: WRK requests=N non200=N rps=X latency_mean_ms=X
function init(args)
    local file = assert(io.open(args[1], "r"), "password_login.lua: cannot open " .. tostring(args[1]))
    local body = file:read("*a")
    file:close()
    wrk.method, wrk.body, wrk.headers["Content-Type"] = "POST", body, "application/json"
    wrk.headers["Host"] = args[2]
    bad = 0
end

function response(status, headers, body)
    if status ~= 200 then bad = bad + 1 end
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency, requests)
    local non200 = 0
    for _, t in ipairs(threads) do non200 = non200 + t:get("bad") end
    io.write(string.format("WRK requests=%d non200=%d rps=%.1f latency_mean_ms=%.2f\n", summary.requests, non200,
        summary.requests / (summary.duration / 1e6), latency.mean / 1000))
end
