/* timewarp.c — the node preload that fast-forwards long timers (timewarp.h). */
#include "timewarp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static const char preload_js[] =
    "'use strict';\n"
    "(function () {\n"
    "  const MIN = " STR(TIMEWARP_MIN_MS) ", KEEP = " STR(TIMEWARP_KEEP_MS) ", MARK = '" TIMEWARP_MARK "';\n"
    "  let timers, util, fs, tp;\n"
    "  try { timers = require('timers'); util = require('util'); fs = require('fs'); tp = require('timers/promises'); }\n"
    "  catch (e) { return; }\n"
    "  const RealDate = Date, realNow = Date.now;\n"
    "  const perf = globalThis.performance;\n"
    "  const realPerfNow = perf && typeof perf.now === 'function' ? perf.now.bind(perf) : null;\n"
    "  const realHr = process.hrtime, realHrBig = process.hrtime && process.hrtime.bigint, realUptime = process.uptime;\n"
    "  let off = 0, marks = 0, clocks = false;\n"
    "  const vnow = () => realNow() + off;\n"
    "  function installClocks() {\n"
    "    if (clocks) return;\n"
    "    clocks = true;\n"
    "    try {\n"
    "      const D = function Date(...a) {\n"
    "        if (!new.target) return new RealDate(vnow()).toString();\n"
    "        return a.length ? Reflect.construct(RealDate, a, new.target === D ? RealDate : new.target) : new RealDate(vnow());\n"
    "      };\n"
    "      Object.setPrototypeOf(D, RealDate);\n"
    "      D.prototype = RealDate.prototype;\n"
    "      D.now = function now() { return vnow(); };\n"
    "      D.toString = function toString() { return 'function Date() { [native code] }'; };\n"
    "      globalThis.Date = D;\n"
    "    } catch (e) { /* keep the real Date */ }\n"
    "    try { if (realPerfNow) perf.now = function now() { return realPerfNow() + off; }; } catch (e) {}\n"
    "    try {\n"
    "      const hr = function hrtime(prev) {\n"
    "        const t = realHr();\n"
    "        let ns = BigInt(t[0]) * 1000000000n + BigInt(t[1]) + BigInt(Math.round(off)) * 1000000n;\n"
    "        if (Array.isArray(prev)) ns -= BigInt(prev[0]) * 1000000000n + BigInt(prev[1]);\n"
    "        return [Number(ns / 1000000000n), Number(ns % 1000000000n)];\n"
    "      };\n"
    "      if (realHrBig) hr.bigint = function bigint() { return realHrBig() + BigInt(Math.round(off)) * 1000000n; };\n"
    "      process.hrtime = hr;\n"
    "      process.uptime = function uptime() { return realUptime() + off / 1000; };\n"
    "    } catch (e) {}\n"
    "  }\n"
    "  function mark(ms) {\n"
    "    if (marks++ >= 16) return;\n"
    "    try { fs.closeSync(fs.openSync(MARK + Math.round(ms), 'r')); } catch (e) {}\n"
    "  }\n"
    "  function isLong(ms) { ms = Number(ms); return Number.isFinite(ms) && ms > MIN; }\n"
    "  function arrive(target) { const n = vnow(); if (n < target) off += target - n; }\n"
    "  const oTimeout = timers.setTimeout, oInterval = timers.setInterval;\n"
    "  const wTimeout = function setTimeout(fn, ms, ...args) {\n"
    "    if (typeof fn !== 'function' || !isLong(ms)) return oTimeout.call(this, fn, ms, ...args);\n"
    "    installClocks(); mark(ms);\n"
    "    const target = vnow() + Number(ms);\n"
    "    return oTimeout.call(this, function () { arrive(target); return fn.apply(this, arguments); }, KEEP, ...args);\n"
    "  };\n"
    "  const wInterval = function setInterval(fn, ms, ...args) {\n"
    "    if (typeof fn !== 'function' || !isLong(ms)) return oInterval.call(this, fn, ms, ...args);\n"
    "    installClocks(); mark(ms);\n"
    "    let target = vnow() + Number(ms);\n"
    "    return oInterval.call(this, function () { arrive(target); target += Number(ms); return fn.apply(this, arguments); }, KEEP * 10, ...args);\n"
    "  };\n"
    "  const oPTimeout = tp.setTimeout;\n"
    "  const wPTimeout = function setTimeout(ms, value, options) {\n"
    "    if (!isLong(ms)) return oPTimeout.call(this, ms, value, options);\n"
    "    installClocks(); mark(ms);\n"
    "    const target = vnow() + Number(ms);\n"
    "    return oPTimeout.call(this, KEEP, value, options).then((v) => { arrive(target); return v; });\n"
    "  };\n"
    "  try {\n"
    "    if (oTimeout[util.promisify.custom]) wTimeout[util.promisify.custom] = wPTimeout;\n"
    "    timers.setTimeout = wTimeout; timers.setInterval = wInterval; tp.setTimeout = wPTimeout;\n"
    "    globalThis.setTimeout = wTimeout; globalThis.setInterval = wInterval;\n"
    "  } catch (e) {}\n"
    "})();\n";

const char *timewarp_node_js(void) { return preload_js; }

int timewarp_event(const struct sbx_event *ev, struct sbx_event *note, char *buf, size_t cap)
{
    size_t ml = strlen(TIMEWARP_MARK);
    if (ev->kind != SBX_EV_OPEN || !ev->path || strncmp(ev->path, TIMEWARP_MARK, ml)) return 0;
    unsigned long long ms = strtoull(ev->path + ml, NULL, 10);
    snprintf(buf, cap, "time accelerated: node timer of %llu.%03llu s fast-forwarded", ms / 1000, ms % 1000);
    *note = (struct sbx_event){.kind = SBX_EV_NOTE, .t_ns = ev->t_ns, .pid = ev->pid, .ppid = ev->ppid, .detail = buf};
    return 1;
}

int timewarp_is_note(const char *detail) { return detail && !strncmp(detail, "time accelerated:", 17); }
