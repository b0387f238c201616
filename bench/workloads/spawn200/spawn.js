// Workload (c): 200 short processes.
const { spawnSync } = require('child_process');
for (let i = 0; i < 200; i++) spawnSync('/bin/true');
