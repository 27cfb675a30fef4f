-- quarantine: store+hold (policies/storehold.yaml): a copy is stored and the
-- MTA holds the message.
local t = dofile(lib)
t.run(function()
    local c = t.conninfo("client.test.example", "192.0.2.50")
    t.mailfrom(c, "alice@test.example")
    t.rcptto(c, "bob@test.example")
    t.message(c, "QS1", { {"X-Virus", "yes"} }, "body\r\n")
    t.expect(c, SMFIR_CONTINUE, "stored and held message")
    if not mt.eom_check(c, MT_QUARANTINE, "stagemilter: rule infected") then
        t.fail("no quarantine request")
    end
    t.expect_text(t.stored("virus_q"), { "X-Virus: yes\n\nbody\n" }, "stored copy")
    mt.disconnect(c)
end)
