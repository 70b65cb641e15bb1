using MobileUNet.Data;

namespace MobileUNet.Tests;

public class DatasetTests
{
    static string FolderPairs(params (string Image, int W, int H, string? Mask, int MW, int MH)[] items)
    {
        var root = TestData.TempDir();
        foreach (var (image, w, h, mask, mw, mh) in items)
        {
            ImageFile.WritePng(Path.Combine(root, "images", image + ".png"), TestData.Blocks(w, h, (1, 1, 2, 2), (255, 0, 0), (0, 0, 255)));
            if (mask is not null)
            {
                var grey = new byte[mw * mh];
                grey[0] = 255; grey[1] = 15; grey[2] = 128;
                ImageFile.WriteGreyPng(Path.Combine(root, "masks", mask + ".png"), mw, mh, grey);
            }
        }
        Directory.CreateDirectory(Path.Combine(root, "masks"));
        return root;
    }

    [Fact]
    public void Folder_pairs_match_by_stem_and_threshold_or_class_value()
    {
        var root = FolderPairs(("b", 4, 4, "b", 4, 4), ("a", 4, 4, "a", 4, 4));
        var binary = new FolderPairsDataset(root);
        Assert.Equal(2, binary.Count);
        var a = binary.Load(0);
        Assert.Equal("a", a.Name);
        Assert.Equal(new byte[] { 1, 0, 1, 0 }, a.Mask.Labels[..4]);
        var byClass = new FolderPairsDataset(root, new ForegroundRule.ClassValue(15)).Load(0);
        Assert.Equal(new byte[] { Mask.Ignore, 1, 0, 0 }, byClass.Mask.Labels[..4]);
    }

    [Fact]
    public void Soft_probability_masks_keep_the_value_as_target_through_augmentation()
    {
        var root = FolderPairs(("a", 4, 4, "a", 4, 4));
        var sample = new FolderPairsDataset(root, new ForegroundRule.SoftProbability()).Load(0);
        Assert.Equal(new byte[] { 1, 0, 1, 0 }, sample.Mask.Labels[..4]);
        Assert.Equal(new byte[] { 255, 15, 128, 0 }, sample.Mask.Soft![..4]);
        Assert.Equal(128 / 255f, sample.Mask.Target(2));
        Assert.Equal(1f, new FolderPairsDataset(root).Load(0).Mask.Target(2));

        // Every augmented pixel carries a (label, soft) pair that exists in the source: they move together.
        var pairs = Enumerable.Range(0, 16).Select(i => (sample.Mask.Labels[i], sample.Mask.Soft[i])).ToHashSet();
        var aug = Augmenter.Apply(sample, 8, new AugmentOptions(1.0, 2.0, 30, true, ColourJitter.None), new Random(3));
        Assert.NotNull(aug.Mask.Soft);
        Assert.All(Enumerable.Range(0, 64), i => Assert.Contains((aug.Mask.Labels[i], aug.Mask.Soft![i]), pairs));
        Assert.Contains(aug.Mask.Soft!, v => v is 15 or 128);
        Assert.Equal(sample.Mask.Soft, sample.Mask.ResizeNearest(4, 4).Soft);
    }

    [Fact]
    public void Folder_pairs_refuse_missing_folders_missing_masks_and_size_mismatch()
    {
        var missing = Path.Combine(TestData.TempDir(), "nope");
        Assert.Contains("nope", Assert.Throws<DirectoryNotFoundException>(() => new FolderPairsDataset(missing)).Message);

        var orphan = FolderPairs(("a", 4, 4, "a", 4, 4), ("lonely", 4, 4, null, 0, 0));
        var e = Assert.Throws<InvalidDataException>(() => new FolderPairsDataset(orphan));
        Assert.Contains("lonely.png", e.Message);
        Assert.Contains("no mask", e.Message);

        var mismatch = FolderPairs(("a", 4, 4, "a", 5, 4));
        var size = Assert.Throws<InvalidDataException>(() => new FolderPairsDataset(mismatch).Load(0));
        Assert.Contains(Path.Combine("masks", "a.png"), size.Message);
        Assert.Contains("5x4", size.Message);
    }

    [Fact]
    public void Voc_palette_masks_give_person_and_ignore()
    {
        Assert.Equal(((byte)192, (byte)128, (byte)128), VocPalette.Colour(15));
        Assert.Equal(((byte)224, (byte)224, (byte)192), VocPalette.Colour(255));
        // Counted by hand from the labelme example masks: 000003 and 000006 show people, 000025 a bus (6) and no person.
        var voc = new VocDataset(TestData.Voc);
        Assert.Equal(3, voc.Count);
        int[] expectedPerson = [32900, 34792, 0];
        for (int i = 0; i < voc.Count; i++)
        {
            var s = voc.Load(i);
            Assert.Equal(expectedPerson[i], s.Mask.Labels.Count(l => l == Mask.Foreground));
        }
        Assert.Equal(9460, voc.Load(0).Mask.Labels.Count(l => l == Mask.Ignore));
        Assert.Equal(118222, new VocDataset(TestData.Voc, [6]).Load(2).Mask.Labels.Count(l => l == Mask.Foreground));
    }

    [Fact]
    public void Lfw_parts_choose_the_channel()
    {
        var root = TestData.TempDir();
        ImageFile.WritePng(Path.Combine(root, "lfw", "Some_One", "Some_One_0001.png"), TestData.Blocks(2, 1, (0, 0, 1, 1), (1, 2, 3), (4, 5, 6)));
        Directory.CreateDirectory(Path.Combine(root, "parts"));
        File.WriteAllBytes(Path.Combine(root, "parts", "Some_One_0001.ppm"), [.. "P6 2 1 255\n"u8.ToArray(), 255, 0, 0, 0, 255, 0]);
        var hair = new LfwPartsDataset(Path.Combine(root, "lfw"), Path.Combine(root, "parts"), LfwPart.Hair).Load(0);
        Assert.Equal(new byte[] { 1, 0 }, hair.Mask.Labels);
        var face = new LfwPartsDataset(Path.Combine(root, "lfw"), Path.Combine(root, "parts"), LfwPart.Face).Load(0);
        Assert.Equal(new byte[] { 0, 1 }, face.Mask.Labels);
    }
}

public class AugmentationTests
{
    // The photo's colour encodes the mask (red = foreground, blue = background), so after any transform each
    // mask label must sit on a pixel of its own colour; only pixels on the block edge may blend.
    static int Misaligned(SegmentationSample s)
    {
        int bad = 0;
        for (int i = 0; i < s.Mask.Labels.Length; i++)
        {
            byte r = s.Image.Pixels[i * 4], b = s.Image.Pixels[i * 4 + 2];
            bool red = r > b;
            if ((s.Mask.Labels[i] == Mask.Foreground) != red) bad++;
        }
        return bad;
    }

    [Fact]
    public void Geometric_augmentation_moves_image_and_mask_together()
    {
        var image = TestData.Blocks(90, 60, (20, 10, 40, 30), (255, 0, 0), (0, 0, 255));
        var mask = new Mask(90, 60);
        for (int y = 10; y < 40; y++) for (int x = 20; x < 60; x++) mask.Labels[y * 90 + x] = Mask.Foreground;
        var sample = new SegmentationSample("blocks", image, mask);
        var options = new AugmentOptions(1.0, 2.0, 30, true, ColourJitter.None);
        int changed = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            var aug = Augmenter.Apply(sample, 64, options, SampleRandom.For(seed, 0, 0));
            Assert.Equal((64, 64), (aug.Image.Width, aug.Mask.Width));
            Assert.True(Misaligned(aug) <= 2, $"seed {seed}: {Misaligned(aug)} pixels disagree");
            if (!aug.Mask.Labels.SequenceEqual(Augmenter.Apply(sample, 64, AugmentOptions.None, new Random(0)).Mask.Labels)) changed++;
        }
        Assert.True(changed >= 15, "augmentation should change the geometry for most seeds");
    }

    [Fact]
    public void Colour_jitter_changes_pixels_but_not_labels()
    {
        var image = TestData.Blocks(32, 32, (8, 8, 16, 16), (200, 60, 40), (30, 40, 180));
        var mask = new Mask(32, 32);
        var jittered = Augmenter.Apply(new SegmentationSample("c", image, mask), 32, AugmentOptions.Default with { MaxZoom = 1, MaxRotationDegrees = 0, HorizontalFlip = false }, new Random(3));
        Assert.NotEqual(image.Pixels, jittered.Image.Pixels);
        Assert.Equal(mask.Labels, jittered.Mask.Labels);
    }

    [Fact]
    public void Composite_masks_are_exactly_the_pasted_cutout_and_repeat_per_seed()
    {
        var cutout = new RgbaImage(40, 60);
        for (int y = 5; y < 55; y++) for (int x = 8; x < 32; x++) { int o = (y * 40 + x) * 4; cutout.Pixels[o] = 255; cutout.Pixels[o + 3] = 255; }
        var background = TestData.Blocks(80, 50, (0, 0, 0, 0), (0, 0, 0), (0, 0, 255));
        var synth = new CompositeSynthesizer([cutout], [background], 64, new SynthOptions(CutoutColour: ColourJitter.None, ImageColour: ColourJitter.None));
        for (int i = 0; i < 10; i++)
        {
            var s = synth.Generate(7, i);
            Assert.True(Misaligned(s) == 0, $"composite {i}: {Misaligned(s)} pixels disagree");
            Assert.True(s.Mask.Labels.Count(l => l == Mask.Foreground) > 64 * 64 / 20);
            Assert.Equal(s.Image.Pixels, synth.Generate(7, i).Image.Pixels);
        }
        Assert.NotEqual(synth.Generate(7, 0).Mask.Labels, synth.Generate(7, 1).Mask.Labels);
    }

    [Fact]
    public void Antialiased_sources_show_fine_stripes_as_their_average_where_sampling_every_kth_pixel_aliases()
    {
        // One-pixel black and white stripes, shrunk 6.25x: their detail is below what 64 pixels can show, so the
        // honest picture is an even grey. Two-tap bilinear samples of every sixth column land on stripes of one
        // colour and draw bold false bands; the source shrunk with the triangle filter first gives the grey.
        var stripes = new RgbaImage(400, 400);
        for (int i = 0; i < 400 * 400; i++)
        {
            byte v = (i % 400) % 2 == 0 ? (byte)0 : (byte)255;
            (stripes.Pixels[i * 4], stripes.Pixels[i * 4 + 1], stripes.Pixels[i * 4 + 2], stripes.Pixels[i * 4 + 3]) = (v, v, v, 255);
        }
        var sample = new SegmentationSample("stripes", stripes, new Mask(400, 400));
        static double WorstDeviation(RgbaImage image) => Enumerable.Range(0, image.Width * image.Height).Max(i => Math.Abs(image.Pixels[i * 4] - 127.5));
        var plain = Augmenter.Apply(sample, 64, AugmentOptions.None, new Random(0));
        var antialiased = Augmenter.Apply(sample, 64, AugmentOptions.None with { AntialiasSources = true }, new Random(0));
        Assert.True(WorstDeviation(plain.Image) > 80, $"plain sampling aliased by only {WorstDeviation(plain.Image)}");
        Assert.True(WorstDeviation(antialiased.Image) < 10, $"antialiased source still off grey by {WorstDeviation(antialiased.Image)}");
        Assert.Equal(plain.Mask.Labels, antialiased.Mask.Labels);   // the mask is sampled from the source as before

        // Drawn at its own size or larger, a source is sampled as it is.
        var blocks = new SegmentationSample("b", TestData.Blocks(40, 40, (10, 10, 20, 20), (255, 0, 0), (0, 0, 255)), new Mask(40, 40));
        Assert.Equal(Augmenter.Apply(blocks, 64, AugmentOptions.None, new Random(0)).Image.Pixels,
                     Augmenter.Apply(blocks, 64, AugmentOptions.None with { AntialiasSources = true }, new Random(0)).Image.Pixels);
    }

    [Fact]
    public void The_antialiased_resize_weights_colour_by_alpha()
    {
        // Opaque red beside transparent black, halved: red at half alpha, not a darkened red.
        var image = new RgbaImage(2, 1, [200, 0, 0, 255, 0, 0, 0, 0]);
        Assert.Equal(new byte[] { 200, 0, 0, 128 }, image.ResizeAntialiased(1, 1).Pixels);
        // A flat colour stays that colour at any size.
        var flat = new RgbaImage(7, 5, [.. Enumerable.Repeat(new byte[] { 10, 120, 230, 255 }, 35).SelectMany(p => p)]);
        Assert.All(flat.ResizeAntialiased(3, 2).Pixels.Chunk(4), p => Assert.Equal(new byte[] { 10, 120, 230, 255 }, p));
    }

    [Fact]
    public void Default_data_composites_and_validation_set_are_seeded()
    {
        var synth = CompositeSynthesizer.FromFolders(TestData.Cutouts, TestData.Backgrounds, 64);
        var val = new SynthValidationSet(synth, 4, 1000);
        Assert.Equal(val.Load(2).Image.Pixels, new SynthValidationSet(synth, 4, 1000).Load(2).Image.Pixels);
        Assert.NotEqual(val.Load(2).Image.Pixels, synth.Generate(1000, 2).Image.Pixels); // validation is its own stream
        var fg = val.Load(0).Mask.Labels.Count(l => l == Mask.Foreground);
        Assert.InRange(fg, 64 * 64 / 20, 64 * 64 * 9 / 10);
    }
}

public class SplitTests
{
    [Fact]
    public void Folder_pairs_split_by_person_never_puts_one_person_on_both_sides()
    {
        var root = TestData.TempDir();
        Directory.CreateDirectory(Path.Combine(root, "images"));
        Directory.CreateDirectory(Path.Combine(root, "masks"));
        var image = TestData.Blocks(8, 8, (2, 2, 4, 4), (200, 10, 20), (5, 6, 7));
        var names = new List<string>();
        for (int person = 0; person < 25; person++)
            for (int photo = 1; photo <= 1 + person % 3; photo++)
                names.Add($"Person_{(char)('A' + person % 26)}{person:D2}_{photo:D4}");
        foreach (var name in names)
        {
            ImageFile.WritePng(Path.Combine(root, "images", name + ".png"), image);
            ImageFile.WriteGreyPng(Path.Combine(root, "masks", name + ".png"), 8, 8, new byte[64]);
        }
        var dataset = new FolderPairsDataset(root);
        var (train, val) = SubsetDataset.Split(dataset);
        Assert.Equal(names.Count, train.Count + val.Count);
        var trainPeople = Enumerable.Range(0, train.Count).Select(train.GroupOf).ToHashSet();
        var valPeople = Enumerable.Range(0, val.Count).Select(val.GroupOf).ToHashSet();
        Assert.Empty(trainPeople.Intersect(valPeople));
        Assert.Equal(2, valPeople.Count); // every 10th of 25 people: the 6th and the 16th
        Assert.Equal(25, trainPeople.Count + valPeople.Count);
        Assert.Equal("Person_A00", DatasetFiles.PersonKey("x/Person_A00_0001.jpg"));
        Assert.Equal("p001", DatasetFiles.PersonKey("p001.jpg"));
    }
}

public class RealismTests
{
    [Fact]
    public void Realistic_composites_repeat_per_seed_mark_the_pasted_people_and_leave_validation_unchanged()
    {
        var plain = CompositeSynthesizer.FromFolders(TestData.Cutouts, TestData.Backgrounds, 64);
        var real = plain.With(SynthOptions.Training);
        int portraitsOrGroups = 0;
        for (int i = 0; i < 24; i++)
        {
            var s = real.Generate(5, i);
            Assert.Equal(s.Image.Pixels, real.Generate(5, i).Image.Pixels);
            Assert.Equal(s.Mask.Labels, real.Generate(5, i).Mask.Labels);
            // Some people are pasted smaller than a pixel's worth of alpha > 0.5; most samples show someone.
            if (s.Mask.Labels.Count(l => l == Mask.Foreground) > 64 * 64 / 4) portraitsOrGroups++;
        }
        Assert.InRange(portraitsOrGroups, 1, 23);
        // The seeded validation composites are the original kind, byte for byte.
        var val = new SynthValidationSet(plain, 2, 1000);
        Assert.Equal(val.Load(1).Image.Pixels, new SynthValidationSet(CompositeSynthesizer.FromFolders(TestData.Cutouts, TestData.Backgrounds, 64), 2, 1000).Load(1).Image.Pixels);
        Assert.NotEqual(real.Generate(1000, 1, CompositeSynthesizer.ValidationStream).Image.Pixels, val.Load(1).Image.Pixels);
    }

    [Fact]
    public void Camera_effects_change_the_photo_and_keep_its_alpha()
    {
        var image = TestData.Blocks(48, 48, (10, 10, 20, 20), (200, 40, 30), (20, 90, 200));
        image.Pixels[3] = 77;
        var before = (byte[])image.Pixels.Clone();
        new Photometric(new ColourJitter(0.3, 0.3, 0.3), BlurChance: 1, NoiseChance: 1, JpegChance: 1).Apply(image, new Random(2));
        Assert.NotEqual(before, image.Pixels);
        Assert.Equal(77, image.Pixels[3]);
    }

    [Fact]
    public void A_mixture_draws_each_source_by_its_share_and_repeats()
    {
        var a = new ConstantSource("a");
        var b = new ConstantSource("b");
        var mix = new MobileUNet.Training.MixedTrainingSource((a, 0.7), (b, 0.3));
        var names = Enumerable.Range(0, 2000).Select(i => mix.Sample(9, i).Name).ToList();
        Assert.InRange(names.Count(n => n == "b"), 520, 680);
        Assert.Equal(names, Enumerable.Range(0, 2000).Select(i => mix.Sample(9, i).Name));
    }

    sealed class ConstantSource(string name) : MobileUNet.Training.ITrainingSource
    {
        public string Description => name;
        public SegmentationSample Sample(long seed, long index) => new(name, new RgbaImage(2, 2), new Mask(2, 2));
    }
}
