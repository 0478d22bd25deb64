// Runs a CNI plugin the way a container runtime does: one exec per operation, config on stdin.
import { spawn } from 'node:child_process';

export const CNI_BIN = '/usr/lib/cni';

/** Execs the plugin at `path` with `env` and the config on stdin; resolves with stdout, rejects on a non-zero exit. */
export function execPlugin(path, command, config, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path} ${command} exited ${code}: ${out}${err}`))));
    child.stdin.end(JSON.stringify(config));
  });
}

/** A reference plugin from CNI_BIN, with the environment a runtime sets for one attachment. */
export function execCni(plugin, command, config, { containerId, netns, ifname = 'eth0' }) {
  return execPlugin(`${CNI_BIN}/${plugin}`, command, config, { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: ifname, CNI_PATH: CNI_BIN, PATH: process.env.PATH });
}
