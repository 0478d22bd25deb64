// What `ip -d -j link show` says of a vxlan link (its linkinfo.info_data), reduced to what Switchyard sets:
// VNI, UDP port, learning, ARP/ND proxy (printed only when on) and the source address of either family.
export function vxlanData(d: Record<string, unknown> | undefined): Record<string, unknown> {
  return { id: d?.id, port: d?.port, learning: d?.learning, proxy: d?.proxy === true, local: d?.local ?? d?.local6 };
}
