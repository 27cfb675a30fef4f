-- Every verb at connect, helo, mail, rcpt and data (policies/envelope.yaml).
-- miltertest keeps only the reply code before end of message, so the texts
-- are checked in the decision lines of the log.
local t = dofile(lib)
t.run(function()
    -- connect: reject (the MTA gets 521 5.7.1 and the text)
    local c = t.conninfo("bad.test.example", "192.0.2.66")
    t.expect(c, SMFIR_REPLYCODE, "connect from 192.0.2.66")
    t.expect_log({ "stage=connect", 'rule="refuse 192.0.2.66"', "verdict=reject", "code=521",
                   "enhanced=5.7.1", "client=192.0.2.66", 'text="go away 192.0.2.66"' },
                 "connect reject")
    mt.disconnect(c)

    -- connect: defer with the defaults of DESIGN.md
    c = t.conninfo("slow.test.example", "192.0.2.67")
    t.expect(c, SMFIR_REPLYCODE, "connect from 192.0.2.67")
    t.expect_log({ "stage=connect", "verdict=defer", "code=421", "enhanced=4.7.0",
                   "client=192.0.2.67" }, "connect defer")
    mt.disconnect(c)

    -- connect: discard holds for every message of the connection
    c = t.conninfo("dev.test.example", "192.0.2.68")
    t.expect(c, SMFIR_CONTINUE, "connect from 192.0.2.68")
    t.mailfrom(c, "a@test.example")
    t.expect(c, SMFIR_DISCARD, "mail after a discard at connect")
    mt.disconnect(c)

    -- helo: deny with an interpolated text
    c = t.conninfo("client.test.example", "192.0.2.10")
    t.expect(c, SMFIR_CONTINUE, "connect from 192.0.2.10")
    t.step("helo", mt.helo(c, "host.bad.example"))
    t.expect(c, SMFIR_REPLYCODE, "helo host.bad.example")
    t.expect_log({ "stage=helo", 'rule="bad helo"', "verdict=deny", "code=550",
                   'text="bad helo host.bad.example"' }, "helo deny")
    mt.disconnect(c)

    c = t.conninfo("client.test.example", "192.0.2.11")
    t.step("helo", mt.helo(c, "client.test.example"))
    t.expect(c, SMFIR_CONTINUE, "helo client.test.example")

    -- mail: info (tempfail with a custom 4xx code)
    t.mailfrom(c, "spam@bad.example")
    t.expect(c, SMFIR_REPLYCODE, "mail from spam@bad.example")
    t.expect_log({ "stage=mail", 'rule="spammer"', "verdict=info", "code=450",
                   "enhanced=4.7.2", 'text="not now, spam@bad.example"' }, "mail info")
    mt.abort(c)

    -- rcpt: one recipient refused, the other accepted, message accepted
    t.mailfrom(c, "someone@test.example")
    t.expect(c, SMFIR_CONTINUE, "mail from someone@test.example")
    t.rcptto(c, "lucifer@satan.org")
    t.expect(c, SMFIR_REPLYCODE, "rcpt lucifer@satan.org")
    t.expect_log({ "stage=rcpt", 'rule="check for satan"', "verdict=deny", "code=550",
                   "enhanced=5.7.1", "client=192.0.2.11", "from=<someone@test.example>",
                   "rcpt=<lucifer@satan.org>", 'text="satan.org is not welcome here."' },
                 "rcpt deny")
    t.rcptto(c, "friend@test.example")
    t.expect(c, SMFIR_CONTINUE, "rcpt friend@test.example")
    t.message(c, "ENV1", {}, "")
    t.expect(c, SMFIR_CONTINUE, "eom of ENV1")
    t.expect_log({ "id=ENV1", "verdict=accept", "rule=-", "nrcpt=1" }, "message line of ENV1")

    -- rcpt: discard
    t.mailfrom(c, "someone@test.example")
    t.rcptto(c, "blackhole@test.example")
    t.expect(c, SMFIR_DISCARD, "rcpt blackhole@test.example")
    mt.abort(c)

    -- mail: faccept
    t.mailfrom(c, "boss@vip.example")
    t.expect(c, SMFIR_ACCEPT, "mail from boss@vip.example")
    t.expect_log({ "stage=mail", 'rule="vip"', "verdict=faccept" }, "mail faccept")
    mt.abort(c)

    -- data: reject with the default 550 5.7.1
    t.mailfrom(c, "late@test.example")
    t.rcptto(c, "friend@test.example")
    t.expect(c, SMFIR_CONTINUE, "rcpt friend@test.example")
    mt.macro(c, string.byte("T"), "i", "ENV2")
    t.step("data", mt.data(c))
    t.expect(c, SMFIR_REPLYCODE, "data from late@test.example")
    t.expect_log({ "id=ENV2", "stage=data", 'rule="too late"', "verdict=reject", "code=550",
                   "enhanced=5.7.1" }, "data reject")
    mt.disconnect(c)
end)
