-- wrk script of benchmark 2 (bench/creates.sh): every request is
-- POST /v1/vms with a ~160-byte JSON body and a name no other request of
-- the run uses ("t<thread>-<try>-<sequence>"; connections of one thread
-- share its sequence; <try> is $BENCH_TRY, set by bench/lib.sh when it
-- repeats a run against the same daemon).  Counts 201 answers apart from anything else, because
-- only a 201 is a durable create; done() prints one line
--   create_result created=N failed=N seconds=S created_per_sec=R
-- and, if anything failed, the first failure's status and body.

local threads = {}
local next_tid = 1

function setup(thread)
	thread:set("tid", next_tid)
	next_tid = next_tid + 1
	table.insert(threads, thread)
end

local try = os.getenv("BENCH_TRY") or "1"

function init(args)
	seq = 0
	created = 0
	failed = 0
	first_error = ""
	wrk.headers["Content-Type"] = "application/json"
end

local body_fmt = '{"name":"%s","vcpus":1,"memory_mib":64,' ..
	'"boot":{"kind":"flat","image":"hello.bin"},' ..
	'"labels":{"bench":"create"},"description":"created by bench/create.lua"}'

function request()
	seq = seq + 1
	local name = string.format("t%d-%s-%08d", tid, try, seq)
	return wrk.format("POST", "/v1/vms", nil, string.format(body_fmt, name))
end

function response(status, headers, body)
	if status == 201 then
		created = created + 1
	else
		failed = failed + 1
		if first_error == "" then
			first_error = status .. " " .. string.sub(body or "", 1, 300)
		end
	end
end

function done(summary, latency, requests)
	local c, f, e = 0, 0, ""
	for _, t in ipairs(threads) do
		c = c + t:get("created")
		f = f + t:get("failed")
		local te = t:get("first_error")
		if e == "" and te ~= nil and te ~= "" then
			e = te
		end
	end
	local seconds = summary.duration / 1e6
	io.write(string.format(
		"create_result created=%d failed=%d seconds=%.3f created_per_sec=%.1f\n",
		c, f, seconds, c / seconds))
	if e ~= "" then
		io.write("create_first_error " .. e .. "\n")
	end
end
