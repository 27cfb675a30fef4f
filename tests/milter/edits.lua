-- Message changes (policies/edits.yaml): negotiation asks for exactly the
-- actions the policy's effects use, and end of message carries them out
-- (miltertest sees each modification).
local t = dofile(lib)
t.run(function()
    local c = t.conninfo("client.test.example", "192.0.2.30")
    for _, o in ipairs({ {SMFIF_ADDHDRS, "ADDHDRS"}, {SMFIF_CHGHDRS, "CHGHDRS"},
                         {SMFIF_ADDRCPT, "ADDRCPT"}, {SMFIF_DELRCPT, "DELRCPT"},
                         {SMFIF_CHGFROM, "CHGFROM"} }) do
        if not mt.test_action(c, o[1]) then
            t.fail("action SMFIF_%s not requested", o[2])
        end
    end
    for _, o in ipairs({ {SMFIF_CHGBODY, "CHGBODY"}, {SMFIF_QUARANTINE, "QUARANTINE"} }) do
        if mt.test_action(c, o[1]) then
            t.fail("action SMFIF_%s requested but the policy cannot use it", o[2])
        end
    end
    t.mailfrom(c, "alice@test.example")
    t.rcptto(c, "bob@test.example")
    t.rcptto(c, "carol@test.example")
    t.message(c, "EDIT1", { {"Subject", "hello"}, {"X-Gone", "1"}, {"X-Flag", "old"},
                            {"X-Gone", "2"} }, "hi\r\n")
    t.expect(c, SMFIR_CONTINUE, "eom")
    if not mt.eom_check(c, MT_HDRCHANGE, "Subject", "[T] hello") then
        t.fail("Subject not tagged once")
    end
    if not mt.eom_check(c, MT_HDRCHANGE, "X-Flag", "new") then
        t.fail("X-Flag not changed")
    end
    if not mt.eom_check(c, MT_HDRDELETE, "X-Gone") then
        t.fail("X-Gone not deleted")
    end
    if not mt.eom_check(c, MT_RCPTADD, "<archive@test.example>") then
        t.fail("archive not added")
    end
    if not mt.eom_check(c, MT_RCPTDELETE, "<carol@test.example>") then
        t.fail("carol not deleted")
    end
    if mt.eom_check(c, MT_RCPTDELETE, "<bob@test.example>") then
        t.fail("bob deleted")
    end
    t.expect_log({ "id=EDIT1", "edit", "headers_changed=2", "deleted=2", "rcpts_added=1",
                   "rcpts_deleted=1", "sender=<bounces@test.example>" }, "edit line")
    mt.disconnect(c)
end)
