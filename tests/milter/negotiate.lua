-- Negotiation turns off what the policy does not need (policies/negotiate.yaml:
-- rules at rcpt only): protocol steps and milter actions; the stages still
-- answer.
local t = dofile(lib)
t.run(function()
    local c = t.connect()
    for _, o in ipairs({ {SMFIP_NODATA, "NODATA"}, {SMFIP_NOHDRS, "NOHDRS"},
                         {SMFIP_NOEOH, "NOEOH"}, {SMFIP_NOBODY, "NOBODY"},
                         {SMFIP_NOUNKNOWN, "NOUNKNOWN"}, {SMFIP_NR_CONN, "NR_CONN"},
                         {SMFIP_NR_HELO, "NR_HELO"}, {SMFIP_NR_MAIL, "NR_MAIL"} }) do
        if not mt.test_option(c, o[1]) then
            t.fail("option SMFIP_%s not requested", o[2])
        end
    end
    for _, o in ipairs({ {SMFIP_NR_RCPT, "NR_RCPT"}, {SMFIP_NOCONNECT, "NOCONNECT"},
                         {SMFIP_NOMAIL, "NOMAIL"}, {SMFIP_NORCPT, "NORCPT"} }) do
        if mt.test_option(c, o[1]) then
            t.fail("option SMFIP_%s requested but rcpt has rules", o[2])
        end
    end
    -- No effect, delegation or quarantine: no action asked for (each
    -- connection asks only for what its policy can use).
    for _, o in ipairs({ {SMFIF_ADDHDRS, "ADDHDRS"}, {SMFIF_CHGHDRS, "CHGHDRS"},
                         {SMFIF_CHGBODY, "CHGBODY"}, {SMFIF_QUARANTINE, "QUARANTINE"},
                         {SMFIF_ADDRCPT, "ADDRCPT"}, {SMFIF_DELRCPT, "DELRCPT"},
                         {SMFIF_CHGFROM, "CHGFROM"} }) do
        if mt.test_action(c, o[1]) then
            t.fail("action SMFIF_%s requested but the policy cannot use it", o[2])
        end
    end

    mt.macro(c, SMFIC_CONNECT, "j", "mx.test.example")
    t.step("conninfo", mt.conninfo(c, "client.test.example", "192.0.2.5"))
    t.step("helo", mt.helo(c, "client.test.example"))
    t.mailfrom(c, "alice@test.example")
    t.rcptto(c, "lucifer@satan.org")
    t.expect(c, SMFIR_REPLYCODE, "rcpt lucifer@satan.org")
    t.expect_log({ "stage=rcpt", 'rule="nobody at satan"', "verdict=deny", "code=554",
                   "enhanced=5.7.1", "client=192.0.2.5", "from=<alice@test.example>",
                   "rcpt=<lucifer@satan.org>", 'text="Access denied"' }, "deny log line")
    t.rcptto(c, "bob@test.example")
    t.expect(c, SMFIR_CONTINUE, "rcpt bob@test.example")
    t.message(c, "NEG1", {}, "")
    t.expect(c, SMFIR_CONTINUE, "eom")
    t.expect_log({ "id=NEG1", "verdict=accept", "rule=-", "client=192.0.2.5", "nrcpt=1" },
                 "message line")
    mt.disconnect(c)
end)
