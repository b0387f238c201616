// Workload (a): walk and stat ~6,000 files under /usr/lib, open ~1,000 of them, spawn 5 processes.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
let statted = 0, opened = 0;
const stack = ['/usr/lib'];
while (stack.length && statted < 6000) {
  const dir = stack.pop();
  let names;
  try { names = fs.readdirSync(dir); } catch { continue; }
  for (const n of names) {
    if (statted >= 6000) break;
    const p = path.join(dir, n);
    let st;
    try { st = fs.lstatSync(p); } catch { continue; }
    statted++;
    if (st.isDirectory()) stack.push(p);
    else if (st.isFile() && opened < 1000) {
      try { const fd = fs.openSync(p, 'r'); fs.closeSync(fd); opened++; } catch {}
    }
  }
}
for (let i = 0; i < 5; i++) spawnSync('/bin/true');
console.log(`statted ${statted} opened ${opened}`);
