using MobileUNet.Data;
using MobileUNet.Platform;

namespace MobileUNet.Inference;

/// <summary>What one labelling run did.</summary>
internal sealed record LabelSummary(int Labelled, int Skipped, IReadOnlyList<string> Failed);

/// <summary>
/// Turns a folder of unlabelled photos into a folder-pairs dataset labelled by a teacher model:
/// <c>OUT/images/NAME.ext</c> (the photo, copied byte for byte) and <c>OUT/masks/NAME.png</c>, the teacher's
/// foreground probability x 255 at the photo's size. Read with the usual rule (value &gt; 127) it is the
/// teacher's 0.5-threshold pseudo-mask; the grey levels keep its confidence. Every file is written atomically
/// and a photo whose mask already exists is skipped, so a rerun resumes where a killed one stopped.
/// </summary>
internal static class TeacherLabels
{
    public static LabelSummary Run(ISegmenter teacher, IReadOnlyList<string> photos, string outDir, ImageLimits? limits = null,
                                   IProgress<int>? progress = null, CancellationToken cancel = default)
    {
        var images = Path.Combine(outDir, "images");
        var masks = Path.Combine(outDir, "masks");
        Directory.CreateDirectory(images);
        Directory.CreateDirectory(masks);
        var stems = new HashSet<string>(StringComparer.Ordinal);
        foreach (var photo in photos)
            if (!stems.Add(Path.GetFileNameWithoutExtension(photo)))
                throw new InvalidDataException($"{photo}: another photo has the stem '{Path.GetFileNameWithoutExtension(photo)}'; their labels would collide.");
        int labelled = 0, skipped = 0, done = 0;
        var failed = new List<string>();
        foreach (var photo in photos)
        {
            cancel.ThrowIfCancellationRequested();
            var stem = Path.GetFileNameWithoutExtension(photo);
            var maskPath = Path.Combine(masks, stem + ".png");
            var imagePath = Path.Combine(images, Path.GetFileName(photo));
            if (File.Exists(maskPath) && File.Exists(imagePath)) skipped++;
            else
            {
                try
                {
                    var image = ImageFile.Read(photo, limits);
                    var probabilities = ImageSegmentation.Probabilities(teacher, image);
                    var grey = new byte[probabilities.Length];
                    MaskDrawing.Matte(probabilities, grey, 1);
                    // Photo first, mask last: a mask on disk means its pair is complete.
                    var bytes = File.ReadAllBytes(photo);
                    AtomicFile.WriteAllBytes(imagePath, bytes);
                    ImageFile.WriteGreyPng(maskPath, image.Width, image.Height, grey);
                    labelled++;
                }
                catch (Exception e) when (e is InvalidDataException or ImageTooLargeException or IOException)
                {
                    Console.Error.WriteLine($"warning: {e.Message}");
                    failed.Add(photo);
                }
            }
            progress?.Report(++done);
        }
        return new LabelSummary(labelled, skipped, failed);
    }
}
