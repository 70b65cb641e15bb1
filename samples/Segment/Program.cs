// Segments one photo with a MobileUNet model through the MobileUNet.Core package:
//   dotnet run --project samples/Segment -- MODEL PHOTO [OUTPUT_DIR]
// MODEL is an .onnx export (mobileunet export), a .munet checkpoint (mobileunet train) or a shipped model's name.
// Writes PHOTO.mask.png (0/255, the photo's own size) and PHOTO.overlay.png (the mask tinted over the photo).
using MobileUNet.Data;
using MobileUNet.Inference;

if (args.Length is < 2 or > 3)
{
    Console.Error.WriteLine("usage: Segment MODEL PHOTO [OUTPUT_DIR]");
    return 2;
}
var (model, photoPath) = (args[0], args[1]);
var outputDir = args.Length > 2 ? args[2] : ".";
Directory.CreateDirectory(outputDir);

using var segmenter = SegmenterFactory.Open(model, Backend.Onnx);   // ONNX Runtime; a .munet is exported in memory
var photo = ImageFile.Read(photoPath);                                // EXIF orientation applied, 8-bit RGBA
float[] probabilities = ImageSegmentation.Probabilities(segmenter, photo);

var stem = Path.Combine(outputDir, Path.GetFileNameWithoutExtension(photoPath));
ImageFile.WriteGreyPng(stem + ".mask.png", photo.Width, photo.Height, ImageSegmentation.MaskBytes(probabilities, segmenter.Threshold));
ImageFile.WritePng(stem + ".overlay.png", ImageSegmentation.Overlay(photo, probabilities, segmenter.Threshold));
Console.WriteLine($"{stem}.mask.png  {stem}.overlay.png ({photo.Width}x{photo.Height}, {probabilities.Count(p => p >= segmenter.Threshold)} foreground pixels)");
return 0;
