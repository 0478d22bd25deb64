import { SwitchyardError, detailValue, quoteValue, type AddressOwner } from '@switchyard/core';

// Line breaks and NUL would corrupt CNI's `<id>\r\n<ifname>` record; Linux refuses '/', ':' and spaces in ifnames.
const BAD_ID = /[\r\n\0]/;
const BAD_IFNAME = /[\0/:\s]/;
// A lone surrogate has no UTF-8 form: the file would hold U+FFFD instead, and the owner could never release the address.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Throws SWY_ERR_INVALID_NAME unless the owner can be written into an address file. */
export function assertOwner(owner: AddressOwner): void {
  const id = owner?.id;
  if (typeof id !== 'string' || id.trim() === '' || BAD_ID.test(id) || LONE_SURROGATE.test(id)) {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `Owner id ${quoteValue(id)} cannot be recorded for an address.`, {
      hint: 'Use a non-empty container or endpoint id without line breaks.',
      details: { id: detailValue(id) },
    });
  }
  const ifname = owner.ifname;
  if (typeof ifname !== 'string' || ifname === '' || ifname.length > 15 || BAD_IFNAME.test(ifname) || LONE_SURROGATE.test(ifname)) {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `Interface name ${quoteValue(ifname)} of owner ${id} is not a valid Linux interface name.`, {
      hint: "Use 1-15 characters without spaces, '/' or ':', e.g. eth0.",
      details: { ifname: detailValue(ifname) },
    });
  }
}
