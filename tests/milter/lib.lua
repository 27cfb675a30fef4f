-- tests/milter/lib.lua: helpers shared by every miltertest script.
--
-- run.t starts the built stagemilter (-f -p unix:SOCKET -c POLICY, its
-- stderr in LOGFILE) and runs each script as
--     miltertest -D socket=unix:... -D logfile=... -D workdir=... -D lib=... -s X.lua
-- A script does:
--     local t = dofile(lib)
--     t.run(function() ... end)
-- t.run() wraps the body in pcall: a Lua error makes miltertest exit 1
-- without a word (TESTBED.md), so the message is printed before exiting 1.

local t = {}

t.names = {
    [SMFIR_CONTINUE] = "continue", [SMFIR_ACCEPT] = "accept", [SMFIR_REJECT] = "reject",
    [SMFIR_TEMPFAIL] = "tempfail", [SMFIR_DISCARD] = "discard",
    [SMFIR_REPLYCODE] = "replycode",
}

-- The reply name for a numeric miltertest reply.
function t.name(r)
    return t.names[r] or string.format("%q", string.char(r))
end

-- Fail the script with a message.
function t.fail(fmt, ...)
    error(string.format(fmt, ...), 0)
end

-- Check that the last reply on CONN is WANT (an SMFIR_* value).
function t.expect(conn, want, what)
    local got = mt.getreply(conn)
    if got ~= want then
        t.fail("%s: expected %s, got %s", what, t.name(want), t.name(got))
    end
end

-- Call an mt.* step that returns nil on success.
function t.step(what, err)
    if err ~= nil then
        t.fail("%s failed: %s", what, tostring(err))
    end
end

-- A new connection to the filter, negotiated with the MTA's full offer.
function t.connect()
    local conn = mt.connect(socket, 50, 0.1)
    if conn == nil then
        t.fail("cannot connect to %s", socket)
    end
    t.step("negotiate", mt.negotiate(conn, nil, nil, nil))
    return conn
end

-- Connect and send connection info (HOST, IP) plus the Postfix connect
-- macros; returns the connection.
function t.conninfo(host, ip)
    local conn = t.connect()
    mt.macro(conn, SMFIC_CONNECT, "j", "mx.test.example", "{daemon_name}", "smtpd",
             "{daemon_addr}", "127.0.0.1", "{daemon_port}", "25")
    t.step("conninfo", mt.conninfo(conn, host, ip))
    return conn
end

-- Send MAIL FROM with the Postfix mail macros.
function t.mailfrom(conn, sender)
    mt.macro(conn, SMFIC_MAIL, "{mail_addr}", sender)
    t.step("mailfrom", mt.mailfrom(conn, "<" .. sender .. ">"))
end

-- Send RCPT TO with the Postfix rcpt macros.
function t.rcptto(conn, rcpt)
    mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", rcpt)
    t.step("rcptto " .. rcpt, mt.rcptto(conn, "<" .. rcpt .. ">"))
end

-- DATA, HEADERS (a list of {name, value}), BODY, end of message, with the
-- queue id macro i as Postfix sends it from DATA on.
function t.message(conn, qid, headers, body)
    mt.macro(conn, string.byte("T"), "i", qid)
    if not mt.test_option(conn, SMFIP_NODATA) then
        t.step("data", mt.data(conn))
    end
    if not mt.test_option(conn, SMFIP_NOHDRS) then
        for _, h in ipairs(headers) do
            t.step("header " .. h[1], mt.header(conn, h[1], h[2]))
        end
    end
    if not mt.test_option(conn, SMFIP_NOEOH) then
        t.step("eoh", mt.eoh(conn))
    end
    if not mt.test_option(conn, SMFIP_NOBODY) then
        t.step("body", mt.bodystring(conn, body))
    end
    mt.macro(conn, string.byte("E"), "i", qid)
    t.step("eom", mt.eom(conn))
end

-- The whole log the filter wrote so far (its stderr).
function t.log()
    local f = io.open(logfile, "r")
    if f == nil then
        t.fail("cannot read %s", logfile)
    end
    local s = f:read("a")
    f:close()
    return s
end

-- Check that a log line contains every one of the plain strings in PARTS.
function t.expect_log(parts, what)
    local tries = 0
    while true do
        for line in t.log():gmatch("[^\n]+") do
            local all = true
            for _, p in ipairs(parts) do
                if not line:find(p, 1, true) then
                    all = false
                    break
                end
            end
            if all then
                return line
            end
        end
        tries = tries + 1
        if tries > 20 then
            t.fail("%s: no log line with all of: %s", what, table.concat(parts, " | "))
        end
        mt.sleep(0.05) -- the filter may still be writing
    end
end

-- The names of the files in DIR (an empty list when it does not exist).
function t.files(dir)
    local list = {}
    local p = io.popen("ls -1 '" .. dir .. "' 2>/dev/null")
    for name in p:lines() do
        list[#list + 1] = name
    end
    p:close()
    return list
end

-- The content of PATH.
function t.read(path)
    local f = io.open(path, "rb")
    if f == nil then
        t.fail("cannot read %s", path)
    end
    local s = f:read("a")
    f:close()
    return s
end

-- The one file in the Maildir QUEUE/new under the test's workdir: its text.
function t.stored(queue)
    local dir = workdir .. "/q/" .. queue
    local new = t.files(dir .. "/new")
    if #new ~= 1 then
        t.fail("%s/new holds %d files, expected 1", dir, #new)
    end
    if #t.files(dir .. "/tmp") ~= 0 then
        t.fail("%s/tmp is not empty", dir)
    end
    if not new[1]:match("^%d+%.M%d+P%d+Q%d+%.") then
        t.fail("file name %s is not a Maildir unique name", new[1])
    end
    return t.read(dir .. "/new/" .. new[1])
end

-- Check that TEXT contains each plain string of PARTS.
function t.expect_text(text, parts, what)
    for _, p in ipairs(parts) do
        if not text:find(p, 1, true) then
            t.fail("%s: %q not found in:\n%s", what, p, text)
        end
    end
end

-- Run BODY; report a Lua error and exit 1.
function t.run(body)
    local ok, err = pcall(body)
    if not ok then
        io.stderr:write("FAIL: " .. tostring(err) .. "\n")
        os.exit(1)
    end
    print("ok")
end

return t
