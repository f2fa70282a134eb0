// Faults the builder sends on purpose. launchpad-buildd raised plain ValueErrors, which Twisted turns
// into fault 8002; we keep code 8002 (clients only look at the code) but say why in faultString.

export const FAULT_NOT_FOUND = 8001;
export const FAULT_FAILURE = 8002;

/** A refused call: wrong state, bad argument, unsafe name. Becomes fault 8002 with this message. */
export class BuilderRefusal extends Error {
  override name = 'BuilderRefusal';
}
