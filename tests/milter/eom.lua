-- End of message (policies/eom.yaml): add_header, refusals with their exact
-- SMTP replies, discard, faccept.
local t = dofile(lib)

-- One message from alice to bob with SUBJECT and BODY; returns the connection.
local function send(qid, subject, body)
    local c = t.conninfo("client.test.example", "192.0.2.20")
    if mt.test_option(c, SMFIP_NOHDRS) or mt.test_option(c, SMFIP_NOBODY) then
        t.fail("headers and body are needed but were turned off")
    end
    t.mailfrom(c, "alice@test.example")
    t.rcptto(c, "bob@test.example")
    t.message(c, qid, { {"From", "alice@test.example"}, {"Subject", subject} }, body)
    return c
end

t.run(function()
    local c = send("EOM1", "hello", "hi\r\n")
    t.expect(c, SMFIR_CONTINUE, "plain message")
    if not mt.eom_check(c, MT_HDRADD, "X-Stagemilter", "seen 192.0.2.20") then
        t.fail("X-Stagemilter not added")
    end
    t.expect_log({ "id=EOM1", "stage=postq", "rule=-", "verdict=accept", "nrcpt=1" },
                 "message line of EOM1")
    mt.disconnect(c)

    c = send("EOM2", "deny me", "hi\r\n")
    t.expect(c, SMFIR_REPLYCODE, "deny at preq")
    if not mt.eom_check(c, MT_SMTPREPLY, "554", "5.7.0", "No thanks (100%% sure)") then
        t.fail("deny at preq: wrong SMTP reply (or '%%' not escaped)")
    end
    if mt.eom_check(c, MT_HDRADD, "X-Stagemilter") then
        t.fail("header added to a refused message")
    end
    t.expect_log({ "id=EOM2", "stage=preq", 'rule="deny subject"', "verdict=deny",
                   'text="No thanks (100% sure)"' }, "deny line")
    mt.disconnect(c)

    c = send("EOM3", "defer me", "hi\r\n")
    t.expect(c, SMFIR_REPLYCODE, "defer at preq")
    if not mt.eom_check(c, MT_SMTPREPLY, "451", "4.7.1", "busy, alice@test.example") then
        t.fail("defer at preq: wrong SMTP reply")
    end
    mt.disconnect(c)

    c = send("EOM4", "discard me", "hi\r\n")
    t.expect(c, SMFIR_DISCARD, "discard at preq")
    mt.disconnect(c)

    c = send("EOM5", "offer", "buy VIAGRA now\r\n")
    t.expect(c, SMFIR_REPLYCODE, "body rule")
    if not mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.1", "no spam") then
        t.fail("reject at preq: wrong SMTP reply")
    end
    mt.disconnect(c)

    c = send("EOM6", "fine", "hi\r\n")
    t.expect(c, SMFIR_CONTINUE, "faccept at postq")
    if not mt.eom_check(c, MT_HDRADD, "X-Stagemilter", "seen 192.0.2.20") then
        t.fail("X-Stagemilter not added with faccept")
    end
    t.expect_log({ "id=EOM6", "stage=postq", 'rule="fine"', "verdict=faccept" }, "faccept line")
    mt.disconnect(c)
end)
