// Runs a CNI reference plugin the way a container runtime does: one exec per operation, config on stdin.
import { spawn } from 'node:child_process';

export const CNI_BIN = '/usr/lib/cni';

export function execCni(plugin, command, config, { containerId, netns, ifname = 'eth0' }) {
  return new Promise((resolve, reject) => {
    const child = spawn(`${CNI_BIN}/${plugin}`, [], {
      env: { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: ifname, CNI_PATH: CNI_BIN, PATH: process.env.PATH },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${plugin} ${command} exited ${code}: ${out}${err}`))));
    child.stdin.end(JSON.stringify(config));
  });
}
