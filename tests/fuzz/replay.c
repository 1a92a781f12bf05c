/*  replay.c - runs a fuzz target's entry point over its corpus, for builds
    without libFuzzer (gcc). Each argument is a folder of inputs or a file.
    Fails if it finds no input at all, so an empty corpus cannot pass. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Feeds one file to the target; returns 0, or -1 if it cannot be read.
static int
s_replay_file (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    fseek (file, 0, SEEK_SET);
    if (size < 0) {
        fclose (file);
        return -1;
    }
    //  An exact-size copy, so a read past the input is caught under ASan.
    uint8_t *data = malloc (size ? (size_t)size : 1);
    if (!data || fread (data, 1, (size_t)size, file) != (size_t)size) {
        free (data);
        fclose (file);
        fprintf (stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    fclose (file);
    LLVMFuzzerTestOneInput (data, (size_t)size);
    free (data);
    return 0;
}

//  Feeds every regular file of a folder; returns the number fed, or -1.
static int
s_replay_folder (const char *folder)
{
    DIR *dir = opendir (folder);
    if (!dir) {
        fprintf (stderr, "replay: cannot open %s\n", folder);
        return -1;
    }
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        char path[4096];
        snprintf (path, sizeof (path), "%s/%s", folder, entry->d_name);
        struct stat info;
        if (stat (path, &info) || !S_ISREG (info.st_mode)) continue;
        if (s_replay_file (path)) {
            closedir (dir);
            return -1;
        }
        count++;
    }
    closedir (dir);
    return count;
}

int
main (int argc, char *argv[])
{
    int total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat info;
        if (stat (argv[i], &info)) {
            fprintf (stderr, "replay: no such file or folder %s\n", argv[i]);
            return 1;
        }
        int count = S_ISDIR (info.st_mode)         ? s_replay_folder (argv[i])
                    : s_replay_file (argv[i]) == 0 ? 1
                                                   : -1;
        if (count < 0) return 1;
        total += count;
    }
    if (total == 0) {
        fprintf (stderr, "replay: no inputs\n");
        return 1;
    }
    printf ("replay: %d inputs\n", total);
    return 0;
}
