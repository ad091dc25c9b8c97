-- wrk script of bench/soak.sh: a steady mix of reads and writes.
--
-- Run with as many threads as connections (wrk -tN -cN): each thread then
-- has one connection, whose requests go one after the other, so a step
-- never overtakes the one before it (a GET of a VM after its create, a
-- DELETE after its guestinfo PUT) and every answer is a 2xx by design.
-- Each connection waits $SOAK_DELAY_MS (default 10) after each answer
-- (wrk's delay()), which sets the rate: at most N * 1000 / delay req/s.
--
-- Thread t cycles through these steps, n counting its cycles:
--   GET    /v1/vms?limit=50                     200
--   POST   /v1/vms  {"name": "s<t>-<n>", ...}   201  (a new VM)
--   GET    /v1/vms/s<t>-<n>                     200
--   PATCH  /v1/vms/s<t>-<n>  (merge patch)      200
--   PUT    /v1/vms/s<t>-<n>  (whole spec)       200
--   PUT    /v1/vms/s<t>-<n>/guestinfo/meta      201
--   GET    /v1/vms/s<t>-<n>/guestinfo/meta      200
--   GET    /v1/vms/$SOAK_GUEST_VM               200  (started, stopped by
--                                                     soak.sh meanwhile)
--   PUT    /v1/vms/keep<t>/guestinfo/counter    200  (replaces a value)
--   GET    /v1/vms/keep<t>                      200
--   DELETE /v1/vms/s<t>-<n>                     204
-- (keep<t> is defined by soak.sh before wrk starts.)  Authorization comes
-- from $SOAK_TOKEN.  done() prints one line
--   soak_result requests=N ok=N s404=N s409=N other=N
-- and, if anything was not a 2xx, the first such answer's status, request
-- and body.

local threads = {}
local next_tid = 1

function setup(thread)
	thread:set("tid", next_tid)
	next_tid = next_tid + 1
	table.insert(threads, thread)
end

local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "10")
local token = os.getenv("SOAK_TOKEN") or ""
local guest_vm = os.getenv("SOAK_GUEST_VM") or "ghello"

function init(args)
	step = 0
	cycle = 0
	requests = 0
	ok = 0
	s404 = 0
	s409 = 0
	other = 0
	first_error = ""
	last = ""
	wrk.headers["Authorization"] = "Bearer " .. token
	-- wrk.format takes these instead of wrk.headers, not on top of them.
	json = {["Content-Type"] = "application/json",
		["Authorization"] = "Bearer " .. token}
	merge = {["Content-Type"] = "application/merge-patch+json",
		["Authorization"] = "Bearer " .. token}
end

local spec_fmt = '{"vcpus":1,"memory_mib":%d,' ..
	'"boot":{"kind":"flat","image":"hello.bin"},' ..
	'"labels":{"bench":"soak","cycle":"%d"},' ..
	'"description":"%s"}'


local function name()
	return string.format("s%d-%d", tid, cycle)
end

local steps = {
	function()
		return "GET", "/v1/vms?limit=50"
	end,
	function()
		local body = string.format(
			'{"name":"%s","vcpus":1,"memory_mib":64,' ..
			'"boot":{"kind":"flat","image":"hello.bin"},' ..
			'"labels":{"bench":"soak"},"description":"soak"}', name())
		return "POST", "/v1/vms", json, body
	end,
	function()
		return "GET", "/v1/vms/" .. name()
	end,
	function()
		local body = string.format(
			'{"description":"patched in cycle %d",' ..
			'"labels":{"patched":"yes"}}', cycle)
		return "PATCH", "/v1/vms/" .. name(), merge, body
	end,
	function()
		return "PUT", "/v1/vms/" .. name(), json,
			string.format(spec_fmt, 32, cycle, "replaced by PUT")
	end,
	function()
		return "PUT", "/v1/vms/" .. name() .. "/guestinfo/meta", json,
			string.format('{"value":"{\\"instance-id\\": \\"%s\\"}"}',
				name())
	end,
	function()
		return "GET", "/v1/vms/" .. name() .. "/guestinfo/meta"
	end,
	function()
		return "GET", "/v1/vms/" .. guest_vm
	end,
	function()
		return "PUT", string.format("/v1/vms/keep%d/guestinfo/counter", tid),
			json, string.format('{"value":"%d"}', cycle)
	end,
	function()
		return "GET", string.format("/v1/vms/keep%d", tid)
	end,
	function()
		return "DELETE", "/v1/vms/" .. name()
	end,
}

function request()
	step = step + 1
	if step > #steps then
		step = 1
		cycle = cycle + 1
	end
	local method, path, headers, body = steps[step]()
	last = method .. " " .. path
	return wrk.format(method, path, headers, body)
end

function delay()
	return delay_ms
end

function response(status, headers, body)
	requests = requests + 1
	if status >= 200 and status < 300 then
		ok = ok + 1
		return
	end
	if status == 404 then
		s404 = s404 + 1
	elseif status == 409 then
		s409 = s409 + 1
	else
		other = other + 1
	end
	if first_error == "" then
		first_error = status .. " " .. last .. " " ..
			string.sub(body or "", 1, 300)
	end
end

function done(summary, latency, reqs)
	local t = {requests = 0, ok = 0, s404 = 0, s409 = 0, other = 0}
	local e = ""
	for _, th in ipairs(threads) do
		for k, _ in pairs(t) do
			t[k] = t[k] + th:get(k)
		end
		local te = th:get("first_error")
		if e == "" and te ~= nil and te ~= "" then
			e = te
		end
	end
	io.write(string.format(
		"soak_result requests=%d ok=%d s404=%d s409=%d other=%d\n",
		t.requests, t.ok, t.s404, t.s409, t.other))
	if e ~= "" then
		io.write("soak_first_error " .. e .. "\n")
	end
end
