-- quarantine: store (policies/quarantine.yaml): the message is written to
-- the Maildir, fsync'ed, and only then discarded; a failing store tempfails.
local t = dofile(lib)

local function send(qid, rcpt, headers, body)
    local c = t.conninfo("client.test.example", "192.0.2.30")
    t.mailfrom(c, "alice@test.example")
    t.rcptto(c, rcpt)
    t.expect(c, SMFIR_CONTINUE, "rcpt " .. rcpt)
    t.message(c, qid, headers, body)
    return c
end

t.run(function()
    local c = send("QV1", "bob@test.example",
                   { {"From", "alice@test.example"}, {"X-Virus", "yes"}, {"Subject", "bad"} },
                   "line1\r\nline2\r\n")
    t.expect(c, SMFIR_DISCARD, "quarantined at preq")
    mt.disconnect(c)
    t.expect_text(t.stored("virus_q"), {
        "Return-Path: <alice@test.example>\n",
        "X-Original-To: <bob@test.example>\n",
        'X-Stagemilter-Quarantine: rule="infected" queue=virus_q stage=preq client=192.0.2.30',
        "queue_id=QV1\n",
        "From: alice@test.example\nX-Virus: yes\nSubject: bad\nX-Tagged: yes\n\nline1\nline2\n",
    }, "stored message")
    t.expect_log({ "id=QV1", "stage=preq", 'rule="infected"', "verdict=quarantine",
                   "queue=virus_q" }, "quarantine line")
    t.expect_log({ "id=QV1", "quarantine=virus_q stored path=" .. workdir .. "/q/virus_q/new/" },
                 "stored line")

    -- decided at rcpt, carried out at end of message
    c = send("QR1", "quarantine@test.example", { {"Subject", "x"} }, "body\r\n")
    t.expect(c, SMFIR_DISCARD, "quarantined at rcpt")
    mt.disconnect(c)
    t.expect_text(t.stored("rcptq"), { 'rule="quarantine at rcpt" queue=rcptq stage=rcpt',
                                       "X-Original-To: <quarantine@test.example>\n" },
                  "stored at rcpt")

    -- a clean message passes with the tag
    c = send("QC1", "bob@test.example", { {"Subject", "clean"} }, "ok\r\n")
    t.expect(c, SMFIR_CONTINUE, "clean message")
    if not mt.eom_check(c, MT_HDRADD, "X-Tagged", "yes") then
        t.fail("X-Tagged not added")
    end
    mt.disconnect(c)

    -- larger than max_message_size: never discard what was not kept
    c = send("QB1", "bob@test.example", { {"X-Virus", "yes"} }, string.rep("x", 2000) .. "\r\n")
    t.expect(c, SMFIR_TEMPFAIL, "oversized quarantined message")
    t.expect_log({ "id=QB1", "store failed" }, "oversized store failure")
    mt.disconnect(c)

    -- the store cannot write: tempfail, nothing discarded
    local tmp = workdir .. "/q/virus_q/tmp"
    assert(os.remove(tmp))
    assert(io.open(tmp, "w")):close()
    c = send("QF1", "bob@test.example", { {"X-Virus", "yes"} }, "body\r\n")
    t.expect(c, SMFIR_TEMPFAIL, "store failure")
    t.expect_log({ "id=QF1", "quarantine=virus_q store failed" }, "store failure line")
    mt.disconnect(c)
end)
