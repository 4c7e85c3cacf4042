import { Inject } from '@nestjs/common';
import { DPOP_RESOLVED_OPTIONS } from './dpop.constants.js';
import type { DPoPModuleOptions } from './dpop-module-options.interface.js';

/**
 * A provider that builds the module's options, for `DPoPModule.forRootAsync({ useClass })` or
 * `({ useExisting })`, as `ThrottlerOptionsFactory` is for `@nestjs/throttler`.
 *
 * @example
 * ```ts
 * @Injectable()
 * class DPoPConfig implements DPoPOptionsFactory {
 *   constructor(private readonly config: ConfigService) {}
 *   createDPoPOptions(): DPoPModuleOptions {
 *     return { required: this.config.get('DPOP_REQUIRED') === 'true' };
 *   }
 * }
 *
 * DPoPModule.forRootAsync({ imports: [ConfigModule], useClass: DPoPConfig })
 * ```
 */
export interface DPoPOptionsFactory {
  createDPoPOptions(): DPoPModuleOptions | Promise<DPoPModuleOptions>;
}

/**
 * Injects the module's options as they are in force: validated, defaults applied
 * ({@link ResolvedDPoPOptions}).
 * @example constructor(@InjectDPoPOptions() private readonly options: ResolvedDPoPOptions) {}
 */
export const InjectDPoPOptions = (): ParameterDecorator & PropertyDecorator =>
  Inject(DPOP_RESOLVED_OPTIONS);
