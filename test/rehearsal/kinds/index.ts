import { localCommandKind } from './command';
import { containerKind } from './container';
import { dockerProviderKind, networkKind, remoteImageKind, volumeKind } from './docker';
import { randomPasswordKind } from './random';
import { ResourceKind } from './types';

/** Every resource type the harness can apply; a type the program registers that is not here fails the run. */
export const KINDS: Readonly<Record<string, ResourceKind>> = {
  'pulumi:providers:docker': dockerProviderKind,
  'docker:index/network:Network': networkKind,
  'docker:index/volume:Volume': volumeKind,
  'docker:index/remoteImage:RemoteImage': remoteImageKind,
  'docker:index/container:Container': containerKind,
  'random:index/randomPassword:RandomPassword': randomPasswordKind,
  'command:local:Command': localCommandKind,
};
