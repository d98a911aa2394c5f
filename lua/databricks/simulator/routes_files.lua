-- The Files API on Unity Catalog volumes (/Volumes/catalog/schema/volume/...):
-- upload (PUT, streamed to disk, overwrite=true|false), download (GET, in
-- large blocks), HEAD, DELETE, directories (PUT creates parents, GET lists
-- with page_token/next_page_token, HEAD, DELETE when empty). Paths arrive
-- percent-encoded per segment and are decoded here. The tree lives in
-- memory (state.files: path -> node) and every file body in its own blob
-- file under state.files_dir, named by a counter, so no user path ever
-- becomes a path on disk and no body is ever held in memory. Volumes exist
-- as soon as they are used.
local socket = require "socket"
local errors = require "databricks.simulator.errors"
local json = require "databricks.simulator.json"
local util = require "databricks.simulator.util"
local http = require "databricks.simulator.http"
local paging = require "databricks.simulator.paging"

local M = {}

local function invalid(message)
  return errors.rest(400, "INVALID_PARAMETER_VALUE", message)
end

local function not_found(what)
  return errors.rest(404, "NOT_FOUND", string.format("The %s being accessed is not found.", what))
end

local function now_ms()
  return math.floor(socket.gettime() * 1000)
end

local function http_date(ms)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", ms // 1000)
end

-- The decoded path of a request (params[1], still percent-encoded), as a
-- list of segments after /Volumes, or nil and an error answer. A path names
-- at least the volume (3 segments); a file needs one more. Errors come back
-- as nil, status, body.
local function parse(raw, min_segments)
  local segments = {}
  local trimmed = raw:gsub("/+$", "")
  for seg in (trimmed .. "/"):gmatch("([^/]*)/") do segments[#segments + 1] = seg end
  if segments[1] ~= "" or segments[2] ~= "Volumes" then
    return nil, invalid("Paths must be absolute paths into a volume: /Volumes/<catalog>/<schema>/<volume>/...")
  end
  local out = {}
  for i = 3, #segments do
    local seg = util.url_decode(segments[i])
    if seg == "" or seg == "." or seg == ".." or seg:find("[/%z]") then
      return nil, invalid("Invalid path segment in " .. raw .. ".")
    end
    out[#out + 1] = seg
  end
  if #out < min_segments then
    return nil, invalid(string.format("%s is not inside a volume (/Volumes/<catalog>/<schema>/<volume>/...).", raw))
  end
  return out
end

local function join(segments, n)
  return "/Volumes/" .. table.concat(segments, "/", 1, n or #segments)
end

-- Makes the volume root (and nothing above it) exist.
local function ensure_volume(state, segments)
  local root = join(segments, 3)
  if not state.files[root] then
    state.files[root] = { dir = true, mtime = now_ms(), children = {} }
  end
end

-- Creates directory segments[1..n] and its parents; returns the node, or
-- nil and the path of a file in the way.
local function make_dirs(state, segments, n)
  ensure_volume(state, segments)
  local node
  for i = 3, n do
    local p = join(segments, i)
    node = state.files[p]
    if not node then
      node = { dir = true, mtime = now_ms(), children = {} }
      state.files[p] = node
      state.files[join(segments, i - 1)].children[segments[i]] = true
    elseif not node.dir then
      return nil, p
    end
  end
  return node
end

local function blob_path(state)
  state.blob_seq = (state.blob_seq or 0) + 1
  return string.format("%s/blob-%d", state.files_dir, state.blob_seq)
end

-- Stores a new body for `segments`: registers the node and drops an older
-- blob. Parents must exist.
local function commit(state, segments, blob, size)
  local path = join(segments)
  local old = state.files[path]
  if old and old.blob then os.remove(old.blob) end
  state.files[path] = { blob = blob, size = size, mtime = now_ms() }
  state.files[join(segments, #segments - 1)].children[segments[#segments]] = true
end

function M.put(ctx)
  local state = ctx.state
  local segments, status, body = parse(ctx.params[1], 4)
  if not segments then return status, body end
  local q = util.parse_form(ctx.req.query)
  if q.overwrite ~= nil and q.overwrite ~= "true" and q.overwrite ~= "false" then
    return invalid("overwrite must be true or false.")
  end
  local path = join(segments)
  local existing = state.files[path]
  if existing and existing.dir then
    return errors.rest(409, "ALREADY_EXISTS", "A directory already exists at " .. path .. ".")
  end
  if existing and q.overwrite ~= "true" then
    return errors.rest(409, "ALREADY_EXISTS", "The file being created already exists.")
  end
  local parent, blocker = make_dirs(state, segments, #segments - 1)
  if not parent then
    return errors.rest(409, "ALREADY_EXISTS", "A file already exists at " .. blocker .. ", a parent of " .. path .. ".")
  end
  local blob = blob_path(state)
  local f, ferr = io.open(blob, "wb")
  if not f then return errors.rest(500, "INTERNAL_ERROR", "cannot store the upload: " .. tostring(ferr)) end
  local size = 0
  while true do
    local piece, rerr, bad_status, message = ctx.body_reader()
    if piece == false then break end
    if not piece then
      f:close()
      os.remove(blob)
      if rerr == "bad" then return errors.rest(bad_status, "BAD_REQUEST", message) end
      return errors.rest(400, "BAD_REQUEST", "The upload ended early: " .. tostring(rerr))
    end
    local ok, werr = f:write(piece)
    if not ok then
      f:close()
      os.remove(blob)
      return errors.rest(500, "INTERNAL_ERROR", "cannot store the upload: " .. tostring(werr))
    end
    size = size + #piece
  end
  f:close()
  ctx.entry.body_bytes = size
  commit(state, segments, blob, size)
  return 204, ""
end

function M.get(ctx)
  local segments, status, body = parse(ctx.params[1], 4)
  if not segments then return status, body end
  local node = ctx.state.files[join(segments)]
  if not node or node.dir then return not_found("file") end
  return 200, http.file_body(node.blob, node.size), {
    ["Content-Type"] = "application/octet-stream", ["Last-Modified"] = http_date(node.mtime),
  }
end

function M.delete(ctx)
  local segments, status, body = parse(ctx.params[1], 4)
  if not segments then return status, body end
  local path = join(segments)
  local node = ctx.state.files[path]
  if not node or node.dir then return not_found("file") end
  os.remove(node.blob)
  ctx.state.files[path] = nil
  ctx.state.files[join(segments, #segments - 1)].children[segments[#segments]] = nil
  return 204, ""
end

function M.mkdir(ctx)
  local segments, status, body = parse(ctx.params[1], 3)
  if not segments then return status, body end
  local node, blocker = make_dirs(ctx.state, segments, #segments)
  if not node then
    return errors.rest(409, "ALREADY_EXISTS", "A file already exists at " .. blocker .. ".")
  end
  return 204, ""
end

function M.dir_head(ctx)
  local segments, status, body = parse(ctx.params[1], 3)
  if not segments then return status, body end
  if #segments == 3 then ensure_volume(ctx.state, segments) end
  local node = ctx.state.files[join(segments)]
  if not node or not node.dir then return 404, "" end
  return 200, ""
end

function M.rmdir(ctx)
  local segments, status, body = parse(ctx.params[1], 4)
  if not segments then return status, body end
  local path = join(segments)
  local node = ctx.state.files[path]
  if not node or not node.dir then return not_found("directory") end
  if next(node.children) then
    return errors.rest(409, "DIRECTORY_NOT_EMPTY", "The directory " .. path .. " is not empty.")
  end
  ctx.state.files[path] = nil
  ctx.state.files[join(segments, #segments - 1)].children[segments[#segments]] = nil
  return 204, ""
end

function M.list(ctx)
  local state = ctx.state
  local segments, status, body = parse(ctx.params[1], 3)
  if not segments then return status, body end
  if #segments == 3 then ensure_volume(state, segments) end
  local path = join(segments)
  local node = state.files[path]
  if not node or not node.dir then return not_found("directory") end
  local q = util.parse_form(ctx.req.query)
  local size, serr = paging.size(q.page_size, state.config.files_page_size or 1000)
  if not size then return invalid("page_size " .. serr .. ".") end
  local names = {}
  for name in pairs(node.children) do names[#names + 1] = name end
  table.sort(names)
  local names_page, token = paging.page(names, "files:" .. path, q.page_token, size)
  if not names_page then return invalid(token) end
  local contents = json.array()
  for i, name in ipairs(names_page) do
    local child_path = path .. "/" .. name
    local child = state.files[child_path]
    contents[i] = { path = child_path, name = name, is_directory = child.dir == true,
                    file_size = (not child.dir) and child.size or nil, last_modified = child.mtime }
  end
  return 200, { contents = contents, next_page_token = token }
end

-- Empties the tree (files the data file declares are seeded again by seed).
function M.reset(state)
  for _, node in pairs(state.files or {}) do
    if node.blob then os.remove(node.blob) end
  end
  state.files = {}
end

-- Creates the files a data file declares: {["/Volumes/c/s/v/name"] = "content"}.
-- Returns true, or nil and a message.
function M.seed(state, files)
  for raw, content in pairs(files or {}) do
    if type(raw) ~= "string" or type(content) ~= "string" then
      return nil, "files must map /Volumes/... paths to their contents (strings)"
    end
    local encoded = raw:gsub("[^/]+", function(seg) return util.url_encode(seg) end)
    local segments = parse(encoded, 4)
    if not segments then return nil, "files: " .. raw .. " is not a file path inside a volume" end
    if not make_dirs(state, segments, #segments - 1) then return nil, "files: a file is in the way of " .. raw end
    local blob = blob_path(state)
    local f, err = io.open(blob, "wb")
    if not f then return nil, "files: " .. tostring(err) end
    f:write(content)
    f:close()
    commit(state, segments, blob, #content)
  end
  return true
end

return M
