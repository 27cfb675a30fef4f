-- quarantine: hold (policies/hold.yaml): smfi_quarantine, the MTA keeps the
-- message in its hold queue; nothing is stored.
local t = dofile(lib)
t.run(function()
    local c = t.conninfo("client.test.example", "192.0.2.40")
    if not mt.test_action(c, SMFIF_QUARANTINE) then
        t.fail("SMFIF_QUARANTINE not requested")
    end
    t.mailfrom(c, "alice@test.example")
    t.rcptto(c, "bob@test.example")
    t.message(c, "QH1", { {"X-Virus", "yes"} }, "body\r\n")
    t.expect(c, SMFIR_CONTINUE, "held message")
    if not mt.eom_check(c, MT_QUARANTINE, "stagemilter: rule infected") then
        t.fail("no quarantine request with the rule's name")
    end
    if not mt.eom_check(c, MT_HDRADD, "X-Tagged", "yes") then
        t.fail("X-Tagged not added to the held message")
    end
    if #t.files(workdir .. "/q") ~= 0 then
        t.fail("hold stored a copy")
    end
    t.expect_log({ "id=QH1", "quarantine=virus_q held in the MTA" }, "hold line")
    mt.disconnect(c)
end)
