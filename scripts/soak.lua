-- wrk script for scripts/soak.sh: a mixed load of good and bad requests (issue 19, item 7).
-- Environment: TASKS ("<id> <secret> <kvnr>" lines), BODY (JSON body template with {{id}}, {{kvnr}}),
-- TOKEN (a pharmacy token). Per request, by counter: a valid $dispense; a $dispense claiming a
-- profile version nobody has (a new canonical each time); unreadable JSON; a forged token; a search
-- at a random offset (as an institution: 403); /metadata.
local tasks = {}
for line in io.lines(os.getenv("TASKS")) do
  local id, secret, kvnr = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
  if id then tasks[#tasks + 1] = { id = id, secret = secret, kvnr = kvnr } end
end
local file = io.open(os.getenv("BODY"), "rb")
local template = file:read("*a")
file:close()
local token = os.getenv("TOKEN")
local counter = 0

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function request()
  counter = counter + 1
  local task = tasks[(counter % #tasks) + 1]
  local kind = counter % 10
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/fhir+json" }
  local path = "/Task/" .. task.id .. "/$dispense?secret=" .. task.secret
  local body = template:gsub("{{id}}", task.id):gsub("{{kvnr}}", task.kvnr)
  if kind < 4 then
    return wrk.format("POST", path, headers, body)
  elseif kind < 6 then
    local odd = body:gsub("(StructureDefinition/[A-Za-z_]+)|1%.6", "%1|1.6." .. (seed or 0) .. "." .. counter)
    return wrk.format("POST", path, headers, odd)
  elseif kind == 6 then
    return wrk.format("POST", path, headers, body:sub(1, (counter % 200) + 1) .. "\0" .. counter)
  elseif kind == 7 then
    headers["Authorization"] = "Bearer " .. token:sub(1, -10) .. string.format("%09d", counter % 1000000000)
    return wrk.format("POST", path, headers, body)
  elseif kind == 8 then
    return wrk.format("GET", "/MedicationDispense?__offset=" .. (counter % 2000000), headers)
  else
    return wrk.format("GET", "/metadata", headers)
  end
end
