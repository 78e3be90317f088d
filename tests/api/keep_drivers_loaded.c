/* Preloaded (LD_PRELOAD) into the sanitizer runs of the C API: dlclose does nothing, so
   the Vulkan drivers the loader unloads when the last instance goes stay mapped, and
   LeakSanitizer can still name them at exit. An unmapped module's allocations are
   "<unknown module>", which no suppression in lsan_suppressions.txt can match (seen with
   Debian 12's lavapipe: 128 bytes of libvulkan_lvp.so). glowq itself never calls dlopen. */
int dlclose(void* handle) {
    (void)handle;
    return 0;
}
