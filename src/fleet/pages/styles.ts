import { apmexStyle } from './apmex.js';
import { bigcommerceStyle } from './bigcommerce.js';
import { gainesvilleStyle } from './gainesville.js';
import { genericStyle } from './generic.js';
import { jmbullionStyle } from './jmbullion.js';
import { monumentmetalsStyle, providentmetalsStyle, sdbullionStyle } from './magento.js';
import { nextSpaStyle } from './next-spa.js';
import { shopifyStyle } from './shopify.js';
import type { PageStyle } from './types.js';

/** Which page style each dealer of the catalogue uses; the one place that names dealers. */
export const VENDOR_STYLES: Readonly<Record<string, PageStyle>> = {
  apmex: apmexStyle,
  jmbullion: jmbullionStyle,
  sdbullion: sdbullionStyle,
  monumentmetals: monumentmetalsStyle,
  providentmetals: providentmetalsStyle,
  herobullion: bigcommerceStyle,
  bullionexchanges: nextSpaStyle,
  gainesvillecoins: gainesvilleStyle,
  summitmetals: shopifyStyle,
};

/** The style of a vendor id; unknown dealers get the generic shop page. */
export function styleFor(vendor: string): PageStyle {
  return Object.hasOwn(VENDOR_STYLES, vendor) ? VENDOR_STYLES[vendor] : genericStyle;
}
