import { ImageRefs, isImageId } from './services';
import { ResourceView, TYPES, str } from './view';

/**
 * Image IDs mapped to the references they were pulled as, from the stack's RemoteImages. Only a stack
 * validation can build it: a container's `image` is the ID, and the reference lives on the image.
 */
export function imageRefsOf(resources: readonly ResourceView[]): ImageRefs {
  const refs = new Map<string, string>();
  for (const r of resources) {
    if (r.type !== TYPES.remoteImage) continue;
    const id = str(r.props.imageId);
    const ref = str(r.props.name);
    if (id !== undefined && ref !== undefined && isImageId(id)) refs.set(id, ref);
  }
  return refs;
}

/**
 * What a rule finds only once images are resolved: the messages that `rule` gives with `imageRefs`
 * and not without them. A policy that also validates each resource reports the rest already.
 */
export function foundThroughImages(
  rule: (view: ResourceView, imageRefs: ImageRefs) => string[],
  view: ResourceView,
  imageRefs: ImageRefs,
): string[] {
  const direct = new Set(rule(view, new Map()));
  return rule(view, imageRefs).filter((m) => !direct.has(m));
}
