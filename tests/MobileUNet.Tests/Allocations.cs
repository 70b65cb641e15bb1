namespace MobileUNet.Tests;

/// <summary>Managed bytes a piece of per-frame code allocates on the calling thread.</summary>
public static class Allocations
{
    /// <summary>
    /// The fewest bytes <paramref name="run"/> allocated over <paramref name="attempts"/> measurements. A one-off
    /// runtime event (code compiled on this thread as tiered compilation catches up, say) can land inside one
    /// measurement on a loaded machine: CI once saw 6,976 bytes over five video frames that allocate nothing on
    /// every other run. An allocation the code itself makes repeats in every attempt, so the fewest still shows it.
    /// </summary>
    public static long Fewest(Action run, int attempts = 3)
    {
        long fewest = long.MaxValue;
        for (int i = 0; i < attempts && fewest > 0; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            run();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
