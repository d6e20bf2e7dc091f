import type { Fault, Patch } from './patch.js';

/** Overrides in force for one target or one vendor; a fault carries how many requests it has left. */
interface Slot {
  price?: number;
  inStock?: boolean;
  preorder?: boolean;
  latencyMs?: number;
  wrongProduct?: boolean;
  fault?: Fault;
  faultLeft: number;
}

/** What a request sees once target overrides are laid over vendor overrides. */
export type Settings = Omit<Slot, 'fault' | 'faultLeft'>;

const SETTING_FIELDS = ['price', 'inStock', 'preorder', 'latencyMs', 'wrongProduct'] as const;

/** The mutable part of the fleet: patches per target (`coin:vendor`) and per vendor. */
export class FleetState {
  private readonly targets = new Map<string, Slot>();
  private readonly vendors = new Map<string, Slot>();

  patchTarget(vendor: string, coin: string, patch: Patch): void {
    apply(slotOf(this.targets, `${coin}:${vendor}`), patch);
  }

  patchVendor(vendor: string, patch: Patch): void {
    apply(slotOf(this.vendors, vendor), patch);
  }

  reset(): void {
    this.targets.clear();
    this.vendors.clear();
  }

  /** Target fields win over vendor fields. */
  settings(vendor: string, coin?: string): Settings {
    const v = this.vendors.get(vendor);
    const t = coin === undefined ? undefined : this.targets.get(`${coin}:${vendor}`);
    const out: Settings = {};
    for (const f of SETTING_FIELDS) {
      const value = t?.[f] ?? v?.[f];
      if (value !== undefined) (out as Record<string, unknown>)[f] = value;
    }
    return out;
  }

  /** Uses up one request of the fault in force (the target's first, then the vendor's), or returns null. */
  takeFault(vendor: string, coin?: string): Fault | null {
    const slots = [coin === undefined ? undefined : this.targets.get(`${coin}:${vendor}`), this.vendors.get(vendor)];
    for (const slot of slots) {
      if (!slot?.fault || slot.faultLeft <= 0) continue;
      const fault = slot.fault;
      slot.faultLeft -= 1;
      if (slot.faultLeft <= 0) delete slot.fault;
      return fault;
    }
    return null;
  }
}

function slotOf(map: Map<string, Slot>, key: string): Slot {
  let slot = map.get(key);
  if (!slot) map.set(key, (slot = { faultLeft: 0 }));
  return slot;
}

function apply(slot: Slot, patch: Patch): void {
  for (const f of SETTING_FIELDS) {
    const value = patch[f];
    if (value === null) delete slot[f];
    else if (value !== undefined) (slot as unknown as Record<string, unknown>)[f] = value;
  }
  if (patch.fault === null) {
    delete slot.fault;
    slot.faultLeft = 0;
  } else if (patch.fault !== undefined) {
    slot.fault = patch.fault;
    slot.faultLeft = patch.faultTimes ?? Infinity;
  } else if (patch.faultTimes !== undefined && slot.fault) {
    slot.faultLeft = patch.faultTimes; // a new count for the fault already set
  }
}
