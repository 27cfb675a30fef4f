-- MTA macros reach the rules (policies/macros.yaml): TLS and AUTH macros,
-- {daemon_name} in a macro condition, j/{daemon_addr}/{daemon_port}/i in
-- texts, {client_resolve} in a macro condition; the Sendmail variant sends a
-- wildcard {daemon_addr} with {if_addr} (${server_ip} is {if_addr}) and i at
-- MAIL, and no ABORT.
local t = dofile(lib)

local TLS = { "{tls_version}", "TLSv1.3", "{cipher}", "TLS_AES_256_GCM_SHA384",
              "{cipher_bits}", "256" }

t.run(function()
    -- Postfix: TLS macros at HELO, i from DATA on
    local c = t.conninfo("client.test.example", "192.0.2.60")
    mt.macro(c, SMFIC_HELO, table.unpack(TLS))
    t.step("helo", mt.helo(c, "client.test.example"))
    t.mailfrom(c, "alice@test.example")
    t.expect(c, SMFIR_CONTINUE, "mail over TLS")
    t.rcptto(c, "bob@test.example")
    t.expect(c, SMFIR_CONTINUE, "rcpt")
    t.message(c, "PFX1", { {"Subject", "x"} }, "x\r\n")
    t.expect(c, SMFIR_CONTINUE, "eom")
    if not mt.eom_check(c, MT_HDRADD, "X-Server",
                        "mx.test.example 127.0.0.1:25 PFX1 client.test.example") then
        t.fail("X-Server: wrong value %s", tostring(mt.getheader(c, "X-Server", 0)))
    end
    mt.disconnect(c)

    -- no TLS: refused at MAIL with the policy's text
    c = t.conninfo("plain.test.example", "192.0.2.61")
    t.step("helo", mt.helo(c, "plain.test.example"))
    t.mailfrom(c, "alice@test.example")
    t.expect(c, SMFIR_REPLYCODE, "mail without TLS")
    t.expect_log({ "stage=mail", 'rule="tls required"', "code=530", "enhanced=5.7.0",
                   "client=192.0.2.61", 'text="Must issue a STARTTLS command first"' },
                 "tls deny")
    -- AUTH macros at MAIL: faccept even without TLS
    mt.abort(c)
    mt.macro(c, SMFIC_MAIL, "{mail_addr}", "alice@test.example", "{auth_authen}", "alice",
             "{auth_type}", "PLAIN")
    t.step("mailfrom", mt.mailfrom(c, "<alice@test.example>"))
    t.expect(c, SMFIR_ACCEPT, "authenticated mail")
    mt.disconnect(c)

    -- Sendmail listening on every address: {daemon_addr} 0.0.0.0 and the real
-- address in {if_addr}, {daemon_name} at connect, i at MAIL, {msg_id} at eom
    c = t.connect()
    mt.macro(c, SMFIC_CONNECT, "j", "sm.test.example", "_", "client.test.example [192.0.2.62]",
             "{daemon_name}", "submission", "{if_name}", "sm.test.example",
             "{daemon_addr}", "0.0.0.0", "{if_addr}", "10.0.0.1")
    t.step("conninfo", mt.conninfo(c, "client.test.example", "192.0.2.62"))
    mt.macro(c, SMFIC_HELO, table.unpack(TLS))
    t.step("helo", mt.helo(c, "client.test.example"))
    mt.macro(c, SMFIC_MAIL, "i", "SMQ1", "{mail_addr}", "alice@test.example")
    t.step("mailfrom", mt.mailfrom(c, "<alice@test.example>"))
    t.expect(c, SMFIR_CONTINUE, "sendmail mail")
    t.rcptto(c, "nobody@nowhere.invalid")
    t.expect(c, SMFIR_REPLYCODE, "rcpt refused on submission")
    t.expect_log({ "id=SMQ1", "stage=rcpt", 'rule="not on submission"', "verdict=reject",
                   "code=550", "rcpt=<nobody@nowhere.invalid>", 'text="no such domain"' },
                 "submission reject")
    t.rcptto(c, "bob@test.example")
    t.expect(c, SMFIR_CONTINUE, "rcpt bob")
    if not mt.test_option(c, SMFIP_NODATA) then
        t.step("data", mt.data(c))
    end
    if not mt.test_option(c, SMFIP_NOHDRS) then
        t.step("header", mt.header(c, "Subject", "x"))
    end
    if not mt.test_option(c, SMFIP_NOEOH) then
        t.step("eoh", mt.eoh(c))
    end
    if not mt.test_option(c, SMFIP_NOBODY) then
        t.step("body", mt.bodystring(c, "x\r\n"))
    end
    mt.macro(c, string.byte("E"), "{msg_id}", "<1@client.test.example>")
    t.step("eom", mt.eom(c))
    t.expect(c, SMFIR_CONTINUE, "sendmail eom")
    if not mt.eom_check(c, MT_HDRADD, "X-Server", "sm.test.example 10.0.0.1: SMQ1 client.test.example") then
        t.fail("X-Server (sendmail): wrong value %s", tostring(mt.getheader(c, "X-Server", 0)))
    end
    t.expect_log({ "id=SMQ1", "stage=postq", "verdict=accept", "nrcpt=1" }, "sendmail message line")
    mt.disconnect(c)

    -- a macro stagemilter keeps only because a macro: condition names it
    c = t.conninfo("forged.test.example", "192.0.2.63")
    mt.macro(c, SMFIC_HELO, table.unpack(TLS))
    t.step("helo", mt.helo(c, "forged.test.example"))
    mt.macro(c, SMFIC_MAIL, "{client_resolve}", "FORGED")
    t.step("mailfrom", mt.mailfrom(c, "<alice@test.example>"))
    t.expect(c, SMFIR_REPLYCODE, "mail from a forged client")
    t.expect_log({ "stage=mail", 'rule="forged client"', "verdict=reject",
                   "client=192.0.2.63" }, "macro condition on {client_resolve}")
    mt.disconnect(c)
end)
