import { SwitchyardError, type AddressOwner } from '@switchyard/core';

// Line breaks and NUL would corrupt CNI's `<id>\r\n<ifname>` record; Linux refuses '/', ':' and spaces in ifnames.
const BAD_ID = /[\r\n\0]/;
const BAD_IFNAME = /[\0/:\s]/;

/** Throws SWY_ERR_INVALID_NAME unless the owner can be written into an address file. */
export function assertOwner(owner: AddressOwner): void {
  const id = owner?.id;
  if (typeof id !== 'string' || id.trim() === '' || BAD_ID.test(id)) {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `Owner id ${JSON.stringify(id)} cannot be recorded for an address.`, {
      hint: 'Use a non-empty container or endpoint id without line breaks.',
      details: { id },
    });
  }
  const ifname = owner.ifname;
  if (typeof ifname !== 'string' || ifname === '' || ifname.length > 15 || BAD_IFNAME.test(ifname)) {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `Interface name ${JSON.stringify(ifname)} of owner ${id} is not a valid Linux interface name.`, {
      hint: "Use 1-15 characters without spaces, '/' or ':', e.g. eth0.",
      details: { ifname },
    });
  }
}
