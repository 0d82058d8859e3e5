/**
 * `virtual_server`, `virtual_server_group`, `real_server` and the checkers (src/config/
 * virtual-server.ts) with keepalived 2.2.7's keywords and defaults: misspellings refused with a
 * did-you-mean at file:line:col, fwmark and IPv6 services, defaults resolved checker → real_server
 * → virtual_server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic, parseConfigText } from '../../../src/config/index.js';

const load = (text: string) => {
  const r = parseConfigText(text, 'v.conf');
  return { config: r.config, diags: r.diagnostics.map(formatDiagnostic), errors: r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic) };
};

test('defaults as keepalived: delay_loop 60 s, connect_timeout 5 s, retry 1, delay_before_retry 1 s (HTTP 3 s), warmup = delay_loop, weight 1, wlc, NAT, TCP, quorum 1', () => {
  const { config, diags } = load(`virtual_server 10.0.0.1 80 {
  real_server 10.0.0.2 80 {
    TCP_CHECK {
    }
    HTTP_GET {
      url {
        path /
      }
    }
  }
}
`);
  assert.deepEqual(diags, []);
  const vs = config!.virtualServers[0]!;
  assert.deepEqual([vs.scheduler, vs.method, vs.serviceProtocol, vs.quorum, vs.hysteresis, vs.weight, vs.family], ['wlc', 'nat', 'tcp', 1, 0, 1, 'ipv4']);
  const [tcp, http] = vs.realServers[0]!.checkers;
  assert.deepEqual([tcp!.delayLoopMs, tcp!.connectTimeoutMs, tcp!.retry, tcp!.delayBeforeRetryMs, tcp!.warmupMs, tcp!.alpha], [60_000, 5_000, 1, 1_000, 60_000, false]);
  assert.equal(http!.delayBeforeRetryMs, 3_000);
  assert.deepEqual(http!.urls!.map((u) => [u.path, u.statusCodes]), [['/', [[200, 299]]]]);
  assert.equal(vs.realServers[0]!.effectiveWeight, 1);
});

test('inheritance: checker ← real_server ← virtual_server (delay_loop, retry, warmup, connect_timeout, alpha, weight, virtualhost)', () => {
  const { config, diags } = load(`virtual_server 10.0.0.1 443 {
  delay_loop 10
  retry 4
  connect_timeout 2.5
  alpha
  weight 7
  virtualhost www.example.com
  real_server 10.0.0.2 443 {
    delay_before_retry 0.5
    warmup 0
    SSL_GET {
      url {
        path /health
        status_code 200 301-302
        digest 9B3A0C85A887A256D6939DA88AABD8CD
      }
      enable_sni
      connect_timeout 1
    }
  }
}
`);
  assert.deepEqual(diags, []);
  const rs = config!.virtualServers[0]!.realServers[0]!;
  const c = rs.checkers[0]!;
  assert.deepEqual([c.delayLoopMs, c.retry, c.connectTimeoutMs, c.delayBeforeRetryMs, c.warmupMs, c.alpha, c.virtualhost, c.enableSni], [10_000, 4, 1_000, 500, 0, true, 'www.example.com', true]);
  assert.equal(rs.effectiveWeight, 7);
  assert.deepEqual(c.urls![0]!.statusCodes, [[200, 200], [301, 302]]);
  assert.equal(c.urls![0]!.digest, '9b3a0c85a887a256d6939da88aabd8cd');
});

test('misspellings are errors at file:line:col with a did-you-mean: wieght, HTTP_GETT, lb_algo bogus_algo, lb_kind DRR', () => {
  const { errors } = load(`virtual_server 10.0.0.1 80 {
  lb_algo bogus_algo
  lb_kind DRR
  real_server 10.0.0.2 80 {
    wieght 1
    HTTP_GETT {
    }
  }
}
`);
  assert.deepEqual(errors, [
    "v.conf:2:11: error: invalid lb_algo 'bogus_algo': expected rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf or mh",
    "v.conf:3:11: error: invalid lb_kind 'DRR': expected NAT, DR or TUN; did you mean 'DR'?",
    "v.conf:5:5: error: unknown keyword 'wieght' in real_server 10.0.0.2:80 of virtual_server 10.0.0.1:80; did you mean 'weight'?",
    "v.conf:6:5: error: unknown keyword 'HTTP_GETT' in real_server 10.0.0.2:80 of virtual_server 10.0.0.1:80; did you mean 'HTTP_GET'?",
  ]);
});

test('an HTTP_GET without url is an error (keepalived ignores the checker)', () => {
  assert.deepEqual(load('virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n    }\n  }\n}\n').errors, [
    "v.conf:3:5: error: HTTP_GET of real_server 10.0.0.2:80 of virtual_server 10.0.0.1:80 has no url (keepalived ignores such a checker); add 'url { path / }'",
  ]);
});

test('checker keyword values are checked: status_code range, digest length, connect_port, misc_path required, DNS type', () => {
  const { errors } = load(`virtual_server 10.0.0.1 80 {
  real_server 10.0.0.2 80 {
    HTTP_GET {
      url {
        path /
        status_code 200-99 700
        digest abc
      }
      connect_port 70000
    }
    MISC_CHECK {
      misc_timeout 5
    }
    DNS_CHECK {
      type AAA
    }
    TCP_CHECK {
      conect_timeout 3
    }
  }
}
`);
  assert.deepEqual(errors, [
    "v.conf:6:21: error: invalid status_code '200-99': expected an HTTP status code from 100 to 599, or a range like 200-299",
    "v.conf:6:28: error: invalid status_code '700': expected an HTTP status code from 100 to 599, or a range like 200-299",
    "v.conf:7:16: error: invalid digest 'abc': expected an MD5 digest: 32 hexadecimal digits",
    "v.conf:9:20: error: invalid connect_port '70000': expected a whole number from 1 to 65535",
    'v.conf:11:5: error: MISC_CHECK of real_server 10.0.0.2:80 of virtual_server 10.0.0.1:80 has no misc_path',
    "v.conf:15:12: error: invalid type 'AAA': expected A, NS, CNAME, SOA, MX, TXT, AAAA, RRSIG or DNSKEY; did you mean 'AAAA'?",
    "v.conf:18:7: error: unknown keyword 'conect_timeout' in TCP_CHECK of real_server 10.0.0.2:80 of virtual_server 10.0.0.1:80; did you mean 'connect_timeout'?",
  ]);
});

test('fwmark service: real_server without a port is valid; IPv6 service; family mismatch refused', () => {
  const { config, diags } = load(`virtual_server fwmark 1 {
  lb_kind DR
  real_server 10.0.0.2 {
    PING_CHECK {
    }
  }
}
virtual_server 2001:db8::1 80 {
  real_server 2001:db8::10 80 {
    TCP_CHECK {
    }
  }
  real_server 10.0.0.3 80 {
  }
}
`);
  assert.deepEqual(diags, ['v.conf:13:3: error: real_server 10.0.0.3 is IPv4 but virtual_server [2001:db8::1]:80 is IPv6 (only a TUN real server may differ)']);
  const r = parseConfigText(`virtual_server fwmark 1 {\n  real_server 10.0.0.2 {\n  }\n}\n`, 'f.conf');
  const fw = r.config!.virtualServers[0]!;
  assert.deepEqual([fw.fwmark, fw.realServers[0]!.port, fw.family], [1, undefined, 'ipv4']);
  void config;
});

test('virtual_server_group: ranges and fwmark entries; a group that does not exist is an error with a did-you-mean', () => {
  const { config, diags } = load(`virtual_server_group web {
  10.0.0.1-3 80
  2001:db8::1 80
  fwmark 7
}
virtual_server group web {
  real_server 10.0.0.9 80 {
  }
}
virtual_server group wbe {
}
`);
  assert.deepEqual(diags, [
    'v.conf:10:1: warning: no real_server in virtual_server group wbe: its traffic is dropped',
    "v.conf:10:1: error: virtual_server group wbe: no virtual_server_group of that name; did you mean 'web'?",
  ]);
  void config;
  const ok = parseConfigText(`virtual_server_group web {\n  10.0.0.1-3 80\n  fwmark 7\n}\nvirtual_server group web {\n  real_server 10.0.0.9 80 {\n  }\n}\n`, 'g.conf').config!;
  assert.deepEqual(ok.virtualServerGroups![0]!.entries.map((e) => [e.address, e.rangeEnd, e.port, e.fwmark]), [['10.0.0.1', 3, 80, undefined], [undefined, undefined, undefined, 7]]);
});

test('quorum, hysteresis, sorry_server, notify and quorum commands, MISC_CHECK user and misc_dynamic, UDP payload, FILE_CHECK track_file', () => {
  const { config, diags } = load(`track_file tf {
  file /run/w
  weight 2
}
virtual_server 10.0.0.1 53 {
  protocol UDP
  quorum 2
  hysteresis 1
  quorum_up "/bin/up arg"
  quorum_down /bin/down
  sorry_server 10.0.0.99 53
  sorry_server_inhibit
  ha_suspend
  omega
  inhibit_on_failure
  real_server 10.0.0.2 53 {
    weight 2
    notify_up /bin/rs-up
    notify_down /bin/rs-down
    MISC_CHECK {
      misc_path "/bin/check --fast"
      misc_timeout 3
      misc_dynamic
      user nobody
    }
    UDP_CHECK {
      payload 00ff10
      require_reply 00ff
      min_reply_length 2
    }
    FILE_CHECK {
      track_file tf
      weight -3 reverse
    }
  }
  real_server 10.0.0.3 53 {
    weight 2
  }
}
`);
  assert.deepEqual(diags, ['v.conf:5:1: warning: ha_suspend: no vrrp_instance holds 10.0.0.1 as a virtual_ipaddress, so keepwatch checks this virtual_server always (keepalived checks it while the address is on the host)']);
  const vs = config!.virtualServers[0]!;
  assert.deepEqual([vs.serviceProtocol, vs.quorum, vs.hysteresis, vs.quorumUp, vs.quorumDown, vs.sorryServer, vs.sorryServerInhibit, vs.haSuspend, vs.omega, vs.inhibitOnFailure], [
    'udp', 2, 1, ['/bin/up', 'arg'], ['/bin/down'], { address: '10.0.0.99', port: 53 }, true, true, true, true,
  ]);
  const rs = vs.realServers[0]!;
  assert.deepEqual([rs.notifyUp, rs.notifyDown, rs.inhibitOnFailure], [['/bin/rs-up'], ['/bin/rs-down'], true]);
  const [misc, udp, file] = rs.checkers;
  assert.deepEqual([misc!.miscPath, misc!.miscTimeoutMs, misc!.miscDynamic, misc!.user], [['/bin/check', '--fast'], 3000, true, 'nobody']);
  assert.deepEqual([[...udp!.payload!], [...(udp!.requireReply as Uint8Array)], udp!.minReplyLength], [[0, 255, 16], [0, 255], 2]);
  assert.deepEqual([file!.trackFile, file!.fileWeight, file!.fileWeightReverse], ['tf', -3, true]);
  const bad = load(`virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    FILE_CHECK {\n      track_file nope\n    }\n  }\n}\n`);
  assert.deepEqual(bad.errors, ['v.conf:3:5: error: FILE_CHECK track_file nope: no track_file (vrrp_track_file) of that name']);
});

test('quorum above the total weight is reduced to it, hysteresis ≥ quorum to quorum − 1 (warnings, as keepalived)', () => {
  const { config, diags } = load(`virtual_server 10.0.0.1 80 {\n  quorum 5\n  hysteresis 9\n  real_server 10.0.0.2 80 {\n    weight 3\n  }\n}\n`);
  assert.deepEqual(diags, [
    'v.conf:2:10: warning: quorum 5 exceeds the total weight of the real servers (3) in virtual_server 10.0.0.1:80; using 3 (as keepalived does)',
    'v.conf:3:14: warning: hysteresis 9 is not below quorum 3 in virtual_server 10.0.0.1:80; using 2 (as keepalived does)',
  ]);
  assert.deepEqual([config!.virtualServers[0]!.quorum, config!.virtualServers[0]!.hysteresis], [3, 2]);
});

test('a hostile file stays bounded: a huge group range is refused, a duplicate real server is an error', () => {
  const { errors } = load(`virtual_server_group g {\n  10.0.0.0-255 80\n  2001:db8::1-ffff 80\n}\nvirtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n  }\n  real_server 10.0.0.2 80 {\n  }\n}\n`);
  assert.deepEqual(errors, [
    "v.conf:3:3: error: invalid range '2001:db8::1-ffff': the last group must be from 1 to 256 (at most 256 addresses)",
    'v.conf:8:3: error: real_server 10.0.0.2 80 is already in virtual_server 10.0.0.1:80 (at v.conf:6:3)',
  ]);
});

test('keywords read but not acted on warn in the "not acted on" form (smtp_alert, regex_stack, scheduler flags)', () => {
  const { diags } = load(`virtual_server 10.0.0.1 80 {\n  smtp_alert\n  sh-port\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n      url {\n        path /\n        regex "ok"\n        regex_stack 64\n      }\n    }\n  }\n}\n`);
  assert.deepEqual(diags.map((d) => d.replace(/: keepwatch .*|: JavaScript.*|: scheduler .*/, '')), [
    "v.conf:2:3: warning: 'smtp_alert' is accepted but not acted on by keepwatch",
    "v.conf:3:3: warning: 'sh-port' is accepted but not acted on by keepwatch",
    "v.conf:9:9: warning: 'regex_stack' is accepted but not acted on by keepwatch",
  ]);
});

test('regex: compiled at load as a JavaScript regular expression with the PCRE2 options mapped; errors at file:line:col', () => {
  const url = (lines: string) => `virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n      url {\n        path /\n${lines}\n      }\n    }\n  }\n}\n`;
  const ok = load(url('        regex "^OK (\\d+)"\n        regex_options caseless multiline no_start_optimize\n        regex_min_offset 2\n        regex_max_offset 10\n        regex_no_match'));
  assert.deepEqual(ok.diags, []);
  assert.deepEqual(ok.config!.virtualServers[0]!.realServers[0]!.checkers[0]!.urls![0]!.regex, { source: '^OK (\\d+)', flags: 'im', noMatch: true, minOffset: 2, maxOffset: 11 });
  assert.deepEqual(load(url('        regex "a(b"\n        regex_options ungreedy caseles')).errors, [
    "v.conf:6:15: error: invalid regex 'a(b': /a(b/: Unterminated group (keepwatch runs it as a JavaScript regular expression)",
    "v.conf:7:23: error: regex_options 'ungreedy' changes what PCRE2 matches and JavaScript regular expressions (keepwatch's) have no such option; rewrite the pattern without it",
    "v.conf:7:32: error: invalid regex_options 'caseles': expected PCRE2 option names (caseless, multiline, dotall, utf, ...); did you mean 'caseless'?",
  ]);
});

test('keepwatch -t line of a virtual_server', async () => {
  const { summarizeVirtualServer } = await import('../../../src/config/index.js');
  const { config } = load(`virtual_server 192.168.2.240 80 {\n  lb_algo wlc\n  lb_kind DR\n  persistence_timeout 60\n  real_server 192.168.2.11 80 {\n    weight 3\n    TCP_CHECK {\n    }\n  }\n}\n`);
  assert.equal(summarizeVirtualServer(config!.virtualServers[0]!), 'virtual_server 192.168.2.240:80 tcp: wlc DR, persistence 60s, 1 real server (192.168.2.11:80 w3 TCP_CHECK)');
});

test('a group standing for more than GROUP_SERVICES_MAX services is refused past the cap', async () => {
  const { GROUP_SERVICES_MAX } = await import('../../../src/config/virtual-server.js');
  const lines = Array.from({ length: 20 }, (_, i) => `  10.${i}.0.0-255 80`).join('\n');
  const { errors } = load(`virtual_server_group big {\n${lines}\n}\n`);
  assert.deepEqual(errors, [`v.conf:18:3: error: virtual_server_group big stands for more than ${GROUP_SERVICES_MAX} services; the rest are not read`]);
});

test("every keyword keepalived 2.2.7's check module installs is in a table (none is called misspelt)", async () => {
  const m = await import('../../../src/config/virtual-server.js');
  // keepalived/check/check_parser.c (virtual_server, then real_server after install_sublevel), check_api.c
  // install_checker_common_keywords, and each checker's install_*_keyword.
  const expected: Record<string, string> = {
    vs: 'ip_family retry delay_before_retry warmup connect_timeout delay_loop inhibit_on_failure lb_algo lvs_sched hashed ops flag-1 flag-2 flag-3 sh-port sh-fallback mh-port mh-fallback lb_kind lvs_method persistence_engine persistence_timeout persistence_granularity protocol ha_suspend smtp_alert virtualhost snmp_name alpha omega quorum_up quorum_down quorum hysteresis weight sorry_server sorry_server_inhibit sorry_server_lvs_method real_server',
    rs: 'weight lvs_method uthreshold lthreshold inhibit_on_failure notify_up notify_down alpha retry delay_before_retry warmup connect_timeout delay_loop smtp_alert virtualhost snmp_name TCP_CHECK HTTP_GET SSL_GET MISC_CHECK SMTP_CHECK DNS_CHECK UDP_CHECK PING_CHECK FILE_CHECK BFD_CHECK',
    common: 'connect_ip connect_port bindto bind_port bind_if connect_timeout fwmark retry delay_before_retry warmup delay_loop alpha log_all_failures',
    HTTP_GET: 'nb_get_retry virtualhost http_protocol enable_sni fast_recovery url',
    url: 'path digest status_code virtualhost regex regex_no_match regex_options regex_min_offset regex_max_offset regex_stack',
    MISC_CHECK: 'misc_path misc_timeout misc_dynamic user retry delay_before_retry warmup delay_loop alpha log_all_failures',
    SMTP_CHECK: 'helo_name host',
    DNS_CHECK: 'type name',
    UDP_CHECK: 'payload require_reply min_reply_length max_reply_length',
    FILE_CHECK: 'track_file weight',
    BFD_CHECK: 'name alpha',
  };
  const missing: string[] = [];
  const has = (table: Readonly<Record<string, unknown>>, words: string, where: string): void => {
    for (const w of words.split(' ')) if (!Object.hasOwn(table, w)) missing.push(`${where}: ${w}`);
  };
  has(m.VIRTUAL_SERVER_KEYWORDS, expected.vs!, 'virtual_server');
  has(m.REAL_SERVER_KEYWORDS, expected.rs!, 'real_server');
  for (const k of ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK'] as const) has(m.CHECKER_KEYWORDS[k], expected.common!, k);
  has(m.CHECKER_KEYWORDS.HTTP_GET, expected.HTTP_GET!, 'HTTP_GET');
  has(m.CHECKER_KEYWORDS.SSL_GET, expected.HTTP_GET!, 'SSL_GET');
  has(m.URL_KEYWORDS, expected.url!, 'url');
  for (const k of ['MISC_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'FILE_CHECK', 'BFD_CHECK'] as const) has(m.CHECKER_KEYWORDS[k], expected[k]!, k);
  assert.deepEqual(missing, []);
});

test('BFD_CHECK names a bfd_instance (did-you-mean when it does not exist)', () => {
  const { errors } = load(`bfd_instance rs1 {\n  neighbor_ip 10.0.0.2\n}\nvirtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    BFD_CHECK {\n      name rs2\n    }\n    BFD_CHECK {\n    }\n  }\n}\n`);
  assert.deepEqual(errors, [
    "v.conf:6:5: error: BFD_CHECK name rs2: no bfd_instance of that name; did you mean 'rs1'?",
    'v.conf:9:5: error: BFD_CHECK of real_server 10.0.0.2:80 of virtual_server 10.0.0.1:80 has no name (the bfd_instance it follows)',
  ]);
});

test('case as keepalived: protocol is caseless (tcp), lb_kind is not (dr → did you mean DR)', () => {
  const { config, errors } = load(`virtual_server 10.0.0.1 80 {\n  protocol udp\n  lb_kind dr\n}\n`);
  assert.deepEqual(errors, ["v.conf:3:11: error: invalid lb_kind 'dr': expected NAT, DR or TUN; did you mean 'DR'?"]);
  void config;
  const ok = parseConfigText(`virtual_server 10.0.0.1 80 {\n  protocol udp\n}\n`, 'p.conf').config!;
  assert.equal(ok.virtualServers[0]!.serviceProtocol, 'udp');
});

test("SMTP_CHECK's deprecated host blocks: one checker each, the SMTP_CHECK's settings as defaults", () => {
  const { config, diags } = load(`virtual_server 10.0.0.1 25 {\n  real_server 10.0.0.2 25 {\n    SMTP_CHECK {\n      helo_name d.example\n      connect_timeout 7\n      host {\n        connect_ip 10.0.0.20\n        connect_port 2525\n      }\n      host {\n        connect_ip 10.0.0.21\n        connect_timeout 2\n      }\n    }\n  }\n}\n`);
  assert.deepEqual(diags, []);
  const cs = config!.virtualServers[0]!.realServers[0]!.checkers;
  assert.deepEqual(cs.map((c) => [c.kind, c.connectIp, c.connectPort, c.connectTimeoutMs, c.heloName, c.location.line]), [
    ['SMTP_CHECK', '10.0.0.20', 2525, 7000, 'd.example', 6],
    ['SMTP_CHECK', '10.0.0.21', undefined, 2000, 'd.example', 10],
  ]);
});
