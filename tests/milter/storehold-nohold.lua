-- quarantine: store+hold when the MTA cannot hold (it does not offer the
-- quarantine action, so smfi_quarantine fails): the client gets a
-- temporary failure and the copy already stored is taken back, so the
-- client's retry is not stored a second time.
local t = dofile(lib)
t.run(function()
    local c = mt.connect(socket, 50, 0.1)
    if c == nil then
        t.fail("cannot connect to %s", socket)
    end
    -- Protocol 6, every action but SMFIF_QUARANTINE (0x20: 0x1ff - 0x20),
    -- every step. miltertest takes (conn, version, steps, actions), whatever
    -- its manual says.
    t.step("negotiate", mt.negotiate(c, 6, 0x1fffff, 0x1df))
    if mt.test_action(c, SMFIF_QUARANTINE) then
        t.fail("the filter asked for the quarantine action the MTA did not offer")
    end
    t.step("connect", mt.conninfo(c, "client.test.example", "192.0.2.51"))
    t.mailfrom(c, "alice@test.example")
    t.rcptto(c, "bob@test.example")
    t.message(c, "QS2", { {"X-Virus", "yes"} }, "body\r\n")
    t.expect(c, SMFIR_TEMPFAIL, "store+hold that cannot hold")
    local dir = workdir .. "/q/virus_q"
    if #t.files(dir .. "/new") ~= 0 or #t.files(dir .. "/tmp") ~= 0 then
        t.fail("%s still holds a stored copy", dir)
    end
    t.expect_log({ "took back" }, "the log says the copy was taken back")
    mt.disconnect(c)
end)
