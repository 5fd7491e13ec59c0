-- wrk script: POST /Task/{id}/$dispense?secret=… round-robin over pre-accepted tasks.
-- Environment: TASKS (file of "<id> <secret> <kvnr>" lines), BODY (body template with {{id}} and {{kvnr}}),
-- CONTENT_TYPE, TOKEN. Each thread walks its own slice of the tasks.
local tasks = {}
for line in io.lines(os.getenv("TASKS")) do
  local id, secret, kvnr = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
  if id then tasks[#tasks + 1] = { id = id, secret = secret, kvnr = kvnr } end
end
local file = io.open(os.getenv("BODY"), "rb")
local template = file:read("*a")
file:close()
local headers = {
  ["Content-Type"] = os.getenv("CONTENT_TYPE"),
  ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
}
local counter = 0
local offset = 0
local thread_count = 0

-- ADDRS (optional, "HOST:PORT,HOST:PORT"): the threads take the instances in turn, so -t2 with two
-- instances puts half the connections on each, as a round-robin load balancer would.
local addrs = {}
for hostport in (os.getenv("ADDRS") or ""):gmatch("[^,]+") do
  local host, port = hostport:match("^(.+):(%d+)$")
  addrs[#addrs + 1] = wrk.lookup(host, port)[1]
end

function setup(thread)
  thread:set("offset", thread_count)
  if #addrs > 0 then thread.addr = addrs[(thread_count % #addrs) + 1] end
  thread_count = thread_count + 1
end

local bodies = {}
function request()
  counter = counter + 1
  local task = tasks[((counter * 7 + offset) % #tasks) + 1]
  local body = bodies[task.id]
  if body == nil then
    body = template:gsub("{{id}}", task.id):gsub("{{kvnr}}", task.kvnr)
    bodies[task.id] = body
  end
  return wrk.format("POST", "/Task/" .. task.id .. "/$dispense?secret=" .. task.secret, headers, body)
end

local statuses = {}
function response(status)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 204 and (statuses[status] == 1) then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
