namespace MobileUNet.Inference;

/// <summary>The first run of every segmenter checks its output: NaN would otherwise threshold to an all-background mask and pass as an answer.</summary>
static class OutputCheck
{
    public static void RequireFinite(ReadOnlySpan<float> probabilities, string source)
    {
        foreach (var p in probabilities)
            if (!float.IsFinite(p))
                throw new InvalidDataException($"{source}: the model's output is NaN or infinite; its weights are damaged (non-finite values).");
    }
}
